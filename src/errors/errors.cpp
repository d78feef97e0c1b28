#include "errors/errors.hpp"

#include "pg/sqlstate.hpp"
#include "sql/dialect.hpp"
#include "sql/guard.hpp"

namespace fleetmcp::errors {
namespace {

// PostgreSQL's 42501 text for a relation ("permission denied for table users"),
// as opposed to one for a schema or function, where column grants are no answer.
bool denies_a_relation(std::string_view message) {
  // (A system catalog's refusal is not about column grants.)
  for (std::string_view kind : {"table ", "view ", "materialized view ", "foreign table "})
    if (message.rfind("permission denied for " + std::string(kind), 0) == 0)
      return message.substr(std::string_view("permission denied for ").size() + kind.size(), 3) != "pg_";
  return false;
}

// The last line of every tool error: what to try next.
std::string next_step(const core::Error& e) {
  using core::ErrorKind;
  const std::string_view state = e.sqlstate, rule = e.rule;
  switch (e.kind) {
    case ErrorKind::Denied:
      if (rule == "parse_error") return "Fix the syntax (PostgreSQL's dialect) and call query again.";
      if (rule == "unknown_function")
        return e.message.find("it exists as") != std::string::npos
                   ? "Call one of the signatures shown, casting arguments where needed (e.g. '2026-05-01'::date)."
                   : "Use a PostgreSQL function instead (list_functions shows the readable schemas' own).";
      if (rule == "schema_not_readable")
        return "Use a table or function in a readable schema (list_tables shows them).";
      if (e.message.rfind("fleetmcp refuses to serve", 0) == 0)
        return "Nothing to change in the query: tell the server's operator (the database role must be fixed).";
      if (rule.empty()) return "Narrow the query as the message says and call again.";
      return "Rewrite the statement without that construct: one read-only SELECT over the readable schemas.";
    case ErrorKind::DbError:
      if (state == pg::kUndefinedTable)
        return "Call list_tables (or read fleetmcp://overview) and use a schema-qualified name that exists.";
      if (state == pg::kUndefinedColumn)
        return "Call describe_table on the table to see its columns, then correct the name.";
      if (state == pg::kUndefinedFunction)
        return "Call one of the signatures shown, casting arguments where needed (e.g. '2026-05-01'::date).";
      if (state == pg::kSyntaxError) return "Fix the syntax (PostgreSQL's dialect) and call query again.";
      if (state == pg::kInsufficientPrivilege) return "Name only the columns you may read (describe_table lists them).";
      if (state.substr(0, 2) == "22")
        return "Check the literals and casts in the statement (dates as 'YYYY-MM-DD', numbers unquoted).";
      return "Fix the statement as PostgreSQL's message says and call query again.";
    case ErrorKind::Timeout: return "Add filters or a narrower time range, or aggregate in SQL, then call again.";
    case ErrorKind::Unavailable:
      if (e.lasting)
        return "Stop and tell the user: the server's operator must fix its database login; retrying will not help.";
      return "Retry the same call in a few seconds.";
    case ErrorKind::ConnectionLost:
    case ErrorKind::Busy: return "Retry the same call in a few seconds.";
    case ErrorKind::BadRequest: return "Call again with the arguments the tool's inputSchema declares.";
    case ErrorKind::NotFound: return "Check the name against list_tables or list_functions and call again.";
    case ErrorKind::Cancelled: return "Call again if the answer is still wanted.";
    case ErrorKind::Internal: return "Retry once; if it fails again, report the message to the server's operator.";
  }
  return "";
}

}  // namespace

int rpc_code(const core::Error& e, bool modern) {
  switch (e.kind) {
    case core::ErrorKind::NotFound: return modern ? kInvalidParams : kResourceNotFound;
    case core::ErrorKind::BadRequest: return kInvalidParams;
    default: return kInternalError;
  }
}

std::string rpc_error(const nlohmann::json& id, int code, const std::string& message, const nlohmann::json& data) {
  nlohmann::json error = {{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = data;
  return nlohmann::json{{"jsonrpc", "2.0"}, {"id", id}, {"error", error}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string tool_error_text(const core::Error& e, std::string_view sql) {
  using core::ErrorKind;
  std::string text;
  switch (e.kind) {
    case ErrorKind::Denied:
      // Without a rule it is a policy's refusal, not the guard's (the role self-audit).
      text = e.rule.empty() ? e.message : "Rejected by the SQL guard (rule " + e.rule + "): " + e.message;
      break;
    case ErrorKind::DbError: text = "PostgreSQL error " + e.sqlstate + ": " + e.message; break;
    case ErrorKind::Timeout:
      text = "Timed out: " + e.message + ". Narrow the query (filters, time range, LIMIT) and retry.";
      break;
    case ErrorKind::Unavailable: {
      // The pool's messages already say "database unavailable: <libpq's reason>".
      std::string_view reason = e.message;
      constexpr std::string_view prefix = "database unavailable: ";
      if (reason.substr(0, prefix.size()) == prefix) reason.remove_prefix(prefix.size());
      text = e.lasting ? "Database unavailable: PostgreSQL refused the server's login (" + std::string(reason) +
                             "). The server's operator must fix DATABASE_URL or the role; retrying will not help."
                       : "Database unavailable: the server could not reach PostgreSQL (" + std::string(reason) +
                             "). Retry in a moment.";
      break;
    }
    case ErrorKind::ConnectionLost: text = e.message; break;
    case ErrorKind::Busy: text = e.message; break;
    case ErrorKind::BadRequest: text = "Invalid arguments: " + e.message; break;
    case ErrorKind::NotFound: text = e.message; break;
    case ErrorKind::Cancelled: text = "Cancelled: " + e.message; break;
    case ErrorKind::Internal: text = "Internal error: " + e.message; break;
  }
  if (!e.sqlstate.empty() && e.kind != ErrorKind::DbError) text += " (SQLSTATE " + e.sqlstate + ")";
  if (!e.detail.empty()) text += "\n" + e.detail;
  if (e.kind == ErrorKind::DbError && e.sqlstate == pg::kInsufficientPrivilege && denies_a_relation(e.message))
    text +=
        "\nHint: tables with sensitive columns (MCP_REDACT_COLUMNS) are granted column by column, so "
        "SELECT *, t.* and whole-row values such as row_to_json(t) are refused there; name the columns "
        "you need (describe_table lists them, sample_table shows the readable ones).";
  if (e.position > 0 && !sql.empty()) {
    text += "\nat position " + std::to_string(e.position) + ":\n";
    text += sql::caret_excerpt(sql, e.position);
  }
  return text;
}

std::string record_error_text(const core::Error& e) {
  if (e.kind == core::ErrorKind::BadRequest || e.kind == core::ErrorKind::Denied) return e.message;
  return tool_error_text(e, {});
}

std::string model_error_text(const core::Error& e, std::string_view sql) {
  std::string text = tool_error_text(e, sql);
  // Another dialect's syntax is refused by the parser, and its functions
  // (IFNULL, NVL, GETDATE, DATE_ADD) as unknown.
  if ((e.rule == "parse_error" || e.rule == "unknown_function" || e.sqlstate == pg::kSyntaxError ||
       e.sqlstate == pg::kUndefinedFunction) &&
      !sql.empty())
    if (const std::string hints = sql::dialect_hints(sql); !hints.empty()) text += "\nHint: " + hints;
  if (const std::string next = next_step(e); !next.empty()) text += "\nNext: " + next;
  return text;
}

}  // namespace fleetmcp::errors
