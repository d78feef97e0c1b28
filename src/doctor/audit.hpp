// The role self-audit: asks PostgreSQL what the configured role can do, turns
// the answer into findings ("unsafe": it can write or administer; "warning":
// the rest) and renders them as one table. `serve`, `stdio` and `demo` refuse
// an unsafe role unless MCP_ALLOW_UNSAFE_ROLE=true; `fleetmcp doctor` prints
// the table for a deploy pipeline. The catalog SQL, the classification and the
// rendering live here; the rendering is pure and tested without a database.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"
#include "pg/database.hpp"
#include "policy/policy.hpp"

namespace fleetmcp::doctor {

enum class Severity {
  Warning,  // reads more than it should, or sees less: serving continues
  Unsafe,   // can write or administer: refused unless MCP_ALLOW_UNSAFE_ROLE=true
};

struct Finding {
  Severity severity = Severity::Warning;
  std::string kind;  // stable id: "superuser", "table_write", "pg_write_server_files", ...
  std::string what;  // what was found, with the objects it concerns
  std::string why;   // why it matters
};

struct Report {
  std::string role;      // current_user
  std::string database;  // current_database()
  std::vector<Finding> findings;
  bool unsafe() const;
};

// One row of the audit query: a finding kind and the object it concerns ("" for
// role attributes).
using Row = std::pair<std::string, std::string>;

// The audit query's text and its parameters (readable schemas, sensitive
// column names lower-cased), as the statements of a plan.
pg::Plan audit_plan(const config::Config& config);

// Groups rows into findings, each with its severity and reason. Rows of one
// kind are one finding listing their objects (the first few, then a count);
// each risky role membership is a finding of its own. Unknown kinds are
// unsafe: a check we cannot name is not a pass.
std::vector<Finding> findings_from_rows(const std::vector<Row>& rows);

// The table, one line per finding (wrapped), headed by the role and a count.
std::string render_table(const Report& report);
// One line naming every unsafe finding and the two ways out.
std::string refusal_message(const Report& report);
// "unsafe: ..." / "warning: ..." per finding, for /readyz and the instructions.
std::vector<std::string> warning_lines(const Report& report);

// Runs the audit through `db` (unchecked: the admission gate calls this): of
// the connection's role, then of each role `book` maps analysts to (SET ROLE
// inside the read-only transaction), whose findings name the role. A role the
// connection cannot switch to is an unsafe finding: its analysts could not work.
boost::asio::awaitable<core::Result<Report>> audit(pg::Database& db, const config::Config& config,
                                                   const policy::Book* book = nullptr);

// For `fleetmcp doctor`: a one-connection pool of its own, the audit, closed.
core::Result<Report> audit_once(const config::Config& config);

}  // namespace fleetmcp::doctor
