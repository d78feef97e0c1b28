#include "doctor/audit.hpp"

#include "catalog/relations.hpp"
#include "pg/params.hpp"
#include "pg/sqlstate.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cctype>
#include <map>
#include <optional>

namespace fleetmcp::doctor {
namespace {

namespace asio = boost::asio;
using core::ErrorKind;
using core::make_error;

// One row per finding object. A superuser gets the one row that matters (every
// other check is true for it). $1: readable schemas, $2: sensitive column names.
// Schema names are matched with regular expressions, not LIKE: '_' in LIKE is a
// wildcard.
constexpr const char* kAuditSql = R"SQL(
WITH me AS (
  SELECT rolsuper, rolbypassrls, rolreplication, rolcreaterole, rolcreatedb
  FROM pg_catalog.pg_roles WHERE rolname = current_user
), relations AS (
  SELECT c.oid, c.relkind, pg_catalog.format('%I.%I', n.nspname, c.relname) AS name
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'
), findings AS (
  SELECT 1 AS o, 'superuser' AS kind, '' AS object FROM me WHERE rolsuper
  UNION ALL SELECT 2, 'replication', '' FROM me WHERE rolreplication
  UNION ALL SELECT 3, 'createrole', '' FROM me WHERE rolcreaterole
  UNION ALL SELECT 4, 'createdb', '' FROM me WHERE rolcreatedb
  UNION ALL SELECT 5, 'bypassrls', '' FROM me WHERE rolbypassrls
  UNION ALL SELECT 6, g.rolname::text, '' FROM pg_catalog.pg_roles g
    WHERE g.rolname IN ('pg_write_server_files', 'pg_execute_server_program', 'pg_write_all_data',
                        'pg_read_server_files', 'pg_read_all_data', 'pg_signal_backend', 'pg_monitor',
                        'pg_read_all_settings', 'pg_read_all_stats')
      AND pg_catalog.pg_has_role(current_user, g.oid, 'MEMBER')
  UNION ALL SELECT 7, 'table_write', r.name || ' (' || p.privileges || ')'
    FROM relations r CROSS JOIN LATERAL (
      SELECT pg_catalog.string_agg(x, ', ') AS privileges
      FROM unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) x
      WHERE pg_catalog.has_table_privilege(r.oid, x)) p
    WHERE r.relkind IN )SQL" FLEETMCP_RELKINDS R"SQL( AND p.privileges IS NOT NULL
  UNION ALL SELECT 8, 'sequence_write', r.name || ' (' || p.privileges || ')'
    FROM relations r CROSS JOIN LATERAL (
      SELECT pg_catalog.string_agg(x, ', ') AS privileges
      FROM unnest(ARRAY['USAGE', 'UPDATE']) x
      WHERE pg_catalog.has_sequence_privilege(r.oid, x)) p
    WHERE r.relkind = 'S' AND p.privileges IS NOT NULL
  UNION ALL SELECT 9, 'schema_create', pg_catalog.quote_ident(n.nspname)
    FROM pg_catalog.pg_namespace n
    WHERE n.nspname !~ '^pg_(toast|temp_)' AND pg_catalog.has_schema_privilege(n.oid, 'CREATE')
  UNION ALL SELECT 10, 'database_create', pg_catalog.quote_ident(current_database())
    WHERE pg_catalog.has_database_privilege(current_database(), 'CREATE')
  UNION ALL SELECT 11, 'database_temporary', pg_catalog.quote_ident(current_database())
    WHERE pg_catalog.has_database_privilege(current_database(), 'TEMPORARY')
  UNION ALL SELECT 12, 'sensitive_column', pg_catalog.format('%I.%I.%I', n.nspname, c.relname, a.attname)
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY ($1::text[]) AND pg_catalog.lower(a.attname) = ANY ($2::text[])
      AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN )SQL" FLEETMCP_RELKINDS R"SQL(
      AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')
      AND pg_catalog.has_column_privilege(c.oid, a.attnum, 'SELECT')
  UNION ALL SELECT 13, 'schema_unreadable', s
    FROM unnest($1::text[]) s
    WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n
                      WHERE n.nspname = s AND pg_catalog.has_schema_privilege(n.oid, 'USAGE'))
)
SELECT kind, object FROM findings
WHERE o = 1 OR NOT (SELECT rolsuper FROM me)
ORDER BY o, kind, object
)SQL";

// What each kind means. Role memberships are named after the role.
struct Kind {
  const char* kind;
  Severity severity;
  const char* what;  // objects, when there are any, follow after ": "
  const char* why;
};
constexpr Kind kKinds[] = {
    {"superuser", Severity::Unsafe, "superuser",
     "bypasses every permission check: can write anything, read files, run programs"},
    {"replication", Severity::Unsafe, "REPLICATION attribute",
     "can stream or copy the whole cluster outside every grant"},
    {"createrole", Severity::Unsafe, "CREATEROLE attribute", "can create roles and grant itself their rights"},
    {"createdb", Severity::Unsafe, "CREATEDB attribute", "can create databases on the server"},
    {"bypassrls", Severity::Warning, "BYPASSRLS attribute", "row-level security policies do not hide rows from it"},
    {"pg_write_server_files", Severity::Unsafe, "member of pg_write_server_files",
     "can write files on the database server (COPY ... TO 'file')"},
    {"pg_execute_server_program", Severity::Unsafe, "member of pg_execute_server_program",
     "can run programs on the database server (COPY ... PROGRAM)"},
    {"pg_write_all_data", Severity::Unsafe, "member of pg_write_all_data",
     "can INSERT, UPDATE and DELETE in every table"},
    {"pg_read_server_files", Severity::Warning, "member of pg_read_server_files",
     "can read any file the server can (COPY ... FROM 'file', pg_read_file)"},
    {"pg_read_all_data", Severity::Warning, "member of pg_read_all_data",
     "can read every table, sensitive columns included: column-level grants do not apply"},
    {"pg_signal_backend", Severity::Warning, "member of pg_signal_backend", "can cancel or terminate other sessions"},
    {"pg_monitor", Severity::Warning, "member of pg_monitor", "can read every setting and other sessions' query texts"},
    {"pg_read_all_settings", Severity::Warning, "member of pg_read_all_settings",
     "can read every setting, including file paths and connection details"},
    {"pg_read_all_stats", Severity::Warning, "member of pg_read_all_stats",
     "can read other sessions' query texts and statistics"},
    {"table_write", Severity::Unsafe, "can write relations",
     "INSERT/UPDATE/DELETE/TRUNCATE: one layer (read-only transactions) from changing data"},
    {"sequence_write", Severity::Unsafe, "can advance sequences", "nextval/setval change sequences"},
    {"schema_create", Severity::Unsafe, "CREATE on schemas",
     "can create objects there, e.g. a function or view that shadows a real one"},
    {"database_create", Severity::Unsafe, "CREATE on database",
     "can create schemas (and objects in them) in the database"},
    {"database_temporary", Severity::Warning, "TEMPORARY on database",
     "can create temporary tables (disk use; pg_temp shadows names in search_path)"},
    {"sensitive_column", Severity::Warning, "SELECT on sensitive columns",
     "only the SQL guard keeps them out, not the database: give the role column-level grants "
     "(fleetmcp role-sql)"},
    {"schema_unreadable", Severity::Warning, "no USAGE on schemas in MCP_READABLE_SCHEMAS (or missing)",
     "their tables are invisible to every tool"},
};

constexpr std::size_t kObjectsShown = 5;  // a table stays readable with thousands of writable tables

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : separator) + s;
  return out;
}

// Splits text into lines of at most `width` characters at spaces (a longer
// word stays whole).
std::vector<std::string> wrap(const std::string& text, std::size_t width) {
  std::vector<std::string> lines;
  std::string line;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    start = end + 1;
  }
  if (!line.empty() || lines.empty()) lines.push_back(line);
  return lines;
}

const char* severity_name(Severity s) { return s == Severity::Unsafe ? "unsafe" : "warning"; }

}  // namespace

bool Report::unsafe() const {
  return std::any_of(findings.begin(), findings.end(), [](const Finding& f) { return f.severity == Severity::Unsafe; });
}

pg::Plan audit_plan(const config::Config& config) {
  pg::Plan plan;
  plan.statements.push_back({"SELECT current_user::text, current_database()::text", {}});
  plan.statements.push_back(
      {kAuditSql, {pg::text_array(config.readable_schemas, false), pg::text_array(config.redact_columns, true)}});
  return plan;
}

std::vector<Finding> findings_from_rows(const std::vector<Row>& rows) {
  std::vector<Finding> out;
  std::vector<std::string> order;  // kinds in the order the rows brought them
  std::map<std::string, std::vector<std::string>> objects;
  for (const auto& [kind, object] : rows) {
    auto [it, added] = objects.try_emplace(kind);
    if (added) order.push_back(kind);
    if (!object.empty()) it->second.push_back(object);
  }
  for (const auto& kind : order) {
    const auto& objs = objects[kind];
    const Kind* known = nullptr;
    for (const auto& k : kKinds)
      if (kind == k.kind) known = &k;
    Finding f;
    f.kind = kind;
    f.severity = known ? known->severity : Severity::Unsafe;
    f.what = known ? known->what : kind;
    f.why = known ? known->why : "a finding this fleetmcp cannot classify";
    if (!objs.empty()) {
      std::vector<std::string> shown(objs.begin(), objs.begin() + std::min(objs.size(), kObjectsShown));
      f.what += ": " + join(shown, ", ");
      if (objs.size() > shown.size()) f.what += " and " + std::to_string(objs.size() - shown.size()) + " more";
    }
    out.push_back(std::move(f));
  }
  // Unsafe first: the refusal names them, and a reader looks at the top.
  std::stable_sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
  return out;
}

std::string render_table(const Report& report) {
  const std::size_t unsafe = static_cast<std::size_t>(std::count_if(
      report.findings.begin(), report.findings.end(), [](const Finding& f) { return f.severity == Severity::Unsafe; }));
  std::string out = "Self-audit of role \"" + report.role + "\" on database \"" + report.database + "\": ";
  if (report.findings.empty()) return out + "no findings (read-only grants only)\n";
  out += std::to_string(report.findings.size()) + (report.findings.size() == 1 ? " finding" : " findings") + " (" +
         std::to_string(unsafe) + " unsafe, " + std::to_string(report.findings.size() - unsafe) + " warning)\n";
  constexpr std::size_t kSeverityWidth = 10, kWhatWidth = 46, kWhyWidth = 58;
  auto row = [&](const std::string& severity, const std::string& what, const std::string& why) {
    const auto what_lines = wrap(what, kWhatWidth), why_lines = wrap(why, kWhyWidth);
    for (std::size_t i = 0; i < std::max(what_lines.size(), why_lines.size()); ++i) {
      std::string line = i == 0 ? severity : "";
      line.resize(kSeverityWidth, ' ');
      std::string w = i < what_lines.size() ? what_lines[i] : "";
      w.resize(std::max(w.size(), kWhatWidth), ' ');
      line += w + "  " + (i < why_lines.size() ? why_lines[i] : "");
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += "  " + line + "\n";
    }
  };
  row("SEVERITY", "FINDING", "WHY IT MATTERS");
  for (const auto& f : report.findings) row(severity_name(f.severity), f.what, f.why);
  return out;
}

std::string refusal_message(const Report& report) {
  std::vector<std::string> named;
  for (const auto& f : report.findings)
    if (f.severity == Severity::Unsafe) named.push_back(f.what);
  return "the database role \"" + report.role + "\" can write or administer the database (" + join(named, "; ") +
         "); give it read-only grants (fleetmcp role-sql), or set MCP_ALLOW_UNSAFE_ROLE=true to serve anyway";
}

std::vector<std::string> warning_lines(const Report& report) {
  std::vector<std::string> out;
  for (const auto& f : report.findings) out.push_back(std::string(severity_name(f.severity)) + ": " + f.what);
  return out;
}

namespace {

// One role's rows: the connection's (`as` empty), or a role MCP_POLICY_FILE
// maps analysts to, judged with that policy's schemas and sensitive columns.
asio::awaitable<core::Result<std::pair<std::string, std::vector<Row>>>> audit_rows(pg::Database& db,
                                                                                   const config::Config& config,
                                                                                   const std::string& as,
                                                                                   std::string& database) {
  pg::Plan plan = audit_plan(config);
  plan.as.role = as;
  auto ran = co_await db.run_unchecked(std::move(plan));
  if (!ran) co_return ran.error();
  const PGresult* who = ran->results.at(0).get();
  const PGresult* rows = ran->results.at(1).get();
  // Both are plain SELECTs that always answer one result with rows.
  if (!who || !rows || PQresultStatus(who) != PGRES_TUPLES_OK || PQresultStatus(rows) != PGRES_TUPLES_OK ||
      PQntuples(who) != 1)
    co_return make_error(ErrorKind::Internal, "self-audit: unexpected answer from the database");
  database = PQgetvalue(who, 0, 1);
  std::vector<Row> found;
  for (int i = 0; i < PQntuples(rows); ++i) found.emplace_back(PQgetvalue(rows, i, 0), PQgetvalue(rows, i, 1));
  co_return std::pair{std::string(PQgetvalue(who, 0, 0)), std::move(found)};
}

}  // namespace

asio::awaitable<core::Result<Report>> audit(pg::Database& db, const config::Config& config, const policy::Book* book) {
  Report report;
  auto own = co_await audit_rows(db, config, "", report.database);
  if (!own) co_return own.error();
  report.role = own->first;
  report.findings = findings_from_rows(own->second);
  if (!book) co_return report;
  for (const auto& grant : book->role_grants()) {
    std::string database;
    auto mapped = co_await audit_rows(db, grant->config, grant->role, database);
    const std::string label = "role \"" + grant->role + "\" (MCP_POLICY_FILE)";
    if (!mapped) {
      // Not a member, or no such role; anything else is the database's trouble.
      const std::string& state = mapped.error().sqlstate;
      if (state != pg::kInsufficientPrivilege && state != pg::kInvalidParameterValue) co_return mapped.error();
      report.findings.push_back({Severity::Unsafe, "mapped_role_unusable", label + ": " + mapped.error().message,
                                 "every call of the analysts mapped to it would fail; create it and GRANT it to " +
                                     report.role + ", or change the policy"});
      continue;
    }
    for (auto& f : findings_from_rows(mapped->second)) {
      f.what = label + ": " + f.what;
      report.findings.push_back(std::move(f));
    }
  }
  // Unsafe first, as findings_from_rows orders one role's.
  std::stable_sort(report.findings.begin(), report.findings.end(),
                   [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
  co_return report;
}

core::Result<Report> audit_once(const config::Config& config) {
  asio::io_context io;
  pg::PoolSettings pool_settings;
  pool_settings.conninfo = config.database_url;
  pool_settings.max_connections = 1;
  pool_settings.connect_timeout = std::chrono::milliseconds(config.connect_timeout_ms);
  pool_settings.timezone = config.timezone;
  pg::DatabaseSettings db_settings;
  db_settings.queue_timeout = std::chrono::milliseconds(config.connect_timeout_ms);
  db_settings.statement_timeout_ms = config.statement_timeout_ms;
  std::optional<policy::Book> book;
  if (!config.policy_file.empty()) {
    auto loaded = policy::Book::load(config.policy_file, config);
    if (!loaded) return loaded.error();
    book.emplace(std::move(*loaded));
  }
  std::optional<core::Result<Report>> result;
  {
    pg::Pool pool(io, pool_settings);
    pg::Database db(pool, db_settings);
    // A void coroutine: co_spawn's completion would need a default-constructible Result.
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { result.emplace(co_await audit(db, config, book ? &*book : nullptr)); },
        asio::detached);
    io.run();
    pool.stop();
    pool.release_io_objects();
  }
  return std::move(*result);
}

}  // namespace fleetmcp::doctor
