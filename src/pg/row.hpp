// One row of a result, its values read by column name (PQfnumber), so a query
// that adds or reorders columns cannot make its reader take the wrong one. A
// name the result does not have is a bug in the query beside the reader:
// std::logic_error, naming it.
#pragma once

#include <libpq-fe.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace fleetmcp::pg {

class Row {
 public:
  Row(const PGresult* result, int row) : result_(result), row_(row) {}

  bool null(const char* column) const { return PQgetisnull(result_, row_, index(column)); }
  // The text form; empty for null.
  std::string text(const char* column) const { return PQgetvalue(result_, row_, index(column)); }
  bool flag(const char* column) const { return PQgetvalue(result_, row_, index(column))[0] == 't'; }
  long long number(const char* column) const { return std::atoll(PQgetvalue(result_, row_, index(column))); }

 private:
  int index(const char* column) const {
    const int i = PQfnumber(result_, column);
    if (i < 0) throw std::logic_error(std::string("the result has no column ") + column);
    return i;
  }
  const PGresult* result_;
  int row_;
};

}  // namespace fleetmcp::pg
