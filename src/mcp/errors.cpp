#include "mcp/errors.hpp"

#include "sql/guard.hpp"

namespace fleetmcp::mcp {
namespace {

// PostgreSQL's 42501 text for a relation ("permission denied for table users"),
// as opposed to one for a schema or function, where column grants are no answer.
bool denies_a_relation(std::string_view message) {
  for (std::string_view kind : {"table ", "view ", "materialized view ", "foreign table "})
    if (message.rfind("permission denied for " + std::string(kind), 0) == 0) return true;
  return false;
}

}  // namespace

std::string rpc_error(const nlohmann::json& id, int code, const std::string& message,
                      const nlohmann::json& data) {
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
    case ErrorKind::DbError:
      text = "PostgreSQL error " + e.sqlstate + ": " + e.message;
      break;
    case ErrorKind::Timeout:
      text = "Timed out: " + e.message + ". Narrow the query (filters, time range, LIMIT) and retry.";
      break;
    case ErrorKind::Unavailable: {
      // The pool's messages already say "database unavailable: <libpq's reason>".
      std::string_view reason = e.message;
      constexpr std::string_view prefix = "database unavailable: ";
      if (reason.substr(0, prefix.size()) == prefix) reason.remove_prefix(prefix.size());
      text = "Database unavailable: the server could not reach PostgreSQL (" + std::string(reason) +
             "). Retry in a moment.";
      break;
    }
    case ErrorKind::ConnectionLost:
      text = e.message;
      break;
    case ErrorKind::Busy:
      text = e.message;
      break;
    case ErrorKind::BadRequest:
      text = "Invalid arguments: " + e.message;
      break;
    case ErrorKind::NotFound:
      text = e.message;
      break;
    case ErrorKind::Cancelled:
      text = "Cancelled: " + e.message;
      break;
    case ErrorKind::Internal:
      text = "Internal error: " + e.message;
      break;
  }
  if (!e.sqlstate.empty() && e.kind != ErrorKind::DbError) text += " (SQLSTATE " + e.sqlstate + ")";
  if (!e.detail.empty()) text += "\n" + e.detail;
  if (e.kind == ErrorKind::DbError && e.sqlstate == "42501" && denies_a_relation(e.message))
    text += "\nHint: tables with sensitive columns (MCP_REDACT_COLUMNS) are granted column by column, so "
            "SELECT *, t.* and whole-row values such as row_to_json(t) are refused there; name the columns "
            "you need (describe_table lists them, sample_table shows the readable ones).";
  if (e.position > 0 && !sql.empty()) {
    text += "\nat position " + std::to_string(e.position) + ":\n";
    text += sql::caret_excerpt(sql, e.position);
  }
  return text;
}

}  // namespace fleetmcp::mcp
