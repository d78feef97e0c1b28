#include "catalog/catalog.hpp"

#include <algorithm>

namespace fleetmcp::catalog {
namespace {

struct BuiltinRow {
  const char* schema;
  const char* name;
  const char* arguments;
  int nargs;
  int ndefaults;
  bool variadic;
  char volatility;
  const char* language;
};

const BuiltinRow kBuiltin[] = {
#include "catalog/builtin_pg15.inc"
};

}  // namespace

const char* volatility_name(Volatility v) {
  switch (v) {
    case Volatility::Immutable: return "immutable";
    case Volatility::Stable: return "stable";
    case Volatility::Volatile: return "volatile";
  }
  return "volatile";
}

void Catalog::add_function(Function f) {
  auto& overloads = functions[f.name];
  overloads.push_back(std::move(f));
}

const Coverage* Catalog::coverage_of(std::string_view schema, std::string_view relation) const {
  for (const auto& c : coverage)
    if (c.schema == schema && c.relation == relation) return &c;
  return nullptr;
}

std::string describe(const Coverage& c) {
  if (c.last.empty()) return c.column + ": no rows";
  return c.column + " from " + c.first + " to " + c.last;
}

std::string coverage_summary(const Catalog& catalog, const std::vector<std::string>& schemas) {
  std::string out;
  for (std::size_t i = 0; i < catalog.coverage.size();) {
    // Per schema: the earliest first value and the latest last one (the
    // texts of one type and zone order as their values do).
    const std::string& schema = catalog.coverage[i].schema;
    std::string first, last, newest;
    for (; i < catalog.coverage.size() && catalog.coverage[i].schema == schema; ++i) {
      const Coverage& c = catalog.coverage[i];
      if (c.last.empty()) continue;
      if (first.empty() || c.first < first) first = c.first;
      if (c.last > last) {
        last = c.last;
        newest = c.relation + "." + c.column;
      }
    }
    const bool readable = schemas.empty() || std::find(schemas.begin(), schemas.end(), schema) != schemas.end();
    if (!last.empty() && readable)
      out += (out.empty() ? "" : "\n") + schema + ": " + first + " to " + last + " (newest: " + newest + ")";
  }
  return out;
}

std::shared_ptr<const Catalog> builtin() {
  static const std::shared_ptr<const Catalog> catalog = [] {
    auto c = std::make_shared<Catalog>();
    c->functions.reserve(3000);
    for (const auto& row : kBuiltin)
      c->add_function({row.schema, row.name, row.arguments, row.nargs, row.ndefaults, row.variadic,
                       static_cast<Volatility>(row.volatility), row.language, false});
    return c;
  }();
  return catalog;
}

}  // namespace fleetmcp::catalog
