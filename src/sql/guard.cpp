#include "sql/guard.hpp"

#include <pg_query.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>

namespace fleetmcp::sql {
namespace {

using core::Error;
using core::ErrorKind;
using nlohmann::json;

Error denied(std::string rule, std::string message, int position) {
  Error e;
  e.kind = ErrorKind::Denied;
  e.rule = std::move(rule);
  e.message = std::move(message);
  e.position = position;
  return e;
}

// Statement nodes that are never allowed anywhere in the tree, with the words an
// analyst would recognise. (A data-modifying CTE shows up as one of these inside
// a CommonTableExpr, so the same table covers it.)
const std::pair<const char*, const char*> kStatementWords[] = {
    {"InsertStmt", "INSERT"}, {"UpdateStmt", "UPDATE"}, {"DeleteStmt", "DELETE"},
    {"MergeStmt", "MERGE"},   {"CopyStmt", "COPY"},     {"DoStmt", "DO"},
    {"CallStmt", "CALL"},     {"TransactionStmt", "transaction control"},
    {"VariableSetStmt", "SET"}, {"VariableShowStmt", "SHOW"},
    {"ExplainStmt", "EXPLAIN"}, {"LockStmt", "LOCK"},
    {"PrepareStmt", "PREPARE"}, {"ExecuteStmt", "EXECUTE"},
    {"DeallocateStmt", "DEALLOCATE"}, {"ListenStmt", "LISTEN"},
    {"NotifyStmt", "NOTIFY"}, {"UnlistenStmt", "UNLISTEN"},
    {"VacuumStmt", "VACUUM/ANALYZE"}, {"ClusterStmt", "CLUSTER"},
    {"ReindexStmt", "REINDEX"}, {"RefreshMatViewStmt", "REFRESH MATERIALIZED VIEW"},
    {"DeclareCursorStmt", "DECLARE"}, {"FetchStmt", "FETCH"},
    {"ClosePortalStmt", "CLOSE"}, {"CheckPointStmt", "CHECKPOINT"},
    {"DiscardStmt", "DISCARD"}, {"LoadStmt", "LOAD"},
    {"GrantStmt", "GRANT/REVOKE"}, {"GrantRoleStmt", "GRANT/REVOKE"},
    {"TruncateStmt", "TRUNCATE"}, {"CreateTableAsStmt", "CREATE TABLE AS"},
};

const char* statement_word(const std::string& node) {
  for (const auto& [name, word] : kStatementWords)
    if (node == name) return word;
  return nullptr;
}

// Functions with side effects, or access to files, other backends, the network,
// settings or time; matched on the bare name whatever the schema qualification.
// Exact names first, then prefixes. Reviewed as one list: add here, nowhere else.
const std::array kDeniedFunctions = {
    "set_config", "pg_read_file", "pg_read_binary_file", "pg_stat_file",
    "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
    "nextval", "setval", "pg_notify", "pg_switch_wal", "pg_create_restore_point",
    "pg_promote", "pg_log_backend_memory_contexts", "txid_current", "pg_current_xact_id",
    "pg_import_system_collations", "pg_logical_emit_message",
};
const std::array kDeniedFunctionPrefixes = {
    "pg_ls_", "lo_", "dblink", "pg_sleep", "pg_advisory_lock", "pg_advisory_unlock",
    "pg_try_advisory_lock", "query_to_xml", "cursor_to_xml", "table_to_xml",
    "query_to_json", "pg_replication_origin_", "pg_create_", "pg_drop_replication_slot",
    "pg_logical_slot_", "pg_replication_slot_advance", "pg_file_",
};

bool function_denied(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  for (const char* f : kDeniedFunctions)
    if (lower == f) return true;
  for (const char* p : kDeniedFunctionPrefixes)
    if (lower.rfind(p, 0) == 0) return true;
  return false;
}

// Byte offset (0-based) to 1-based character position, as PostgreSQL reports it.
int char_position(std::string_view sql, long byte_offset) {
  if (byte_offset < 0) return 0;
  int chars = 0;
  for (long i = 0; i < byte_offset && i < static_cast<long>(sql.size()); ++i)
    if ((static_cast<unsigned char>(sql[i]) & 0xC0) != 0x80) ++chars;
  return chars + 1;
}

struct Walker {
  std::string_view sql;
  const Policy& policy;
  std::optional<Error> verdict;

  void reject(std::string rule, std::string message, long location) {
    if (!verdict) verdict = denied(std::move(rule), std::move(message), char_position(sql, location));
  }

  // Visits every node once; `where` is the nearest enclosing location seen.
  void walk(const json& node, long where) {
    if (verdict) return;
    if (node.is_array()) {
      for (const auto& child : node) walk(child, where);
      return;
    }
    if (!node.is_object()) return;
    if (auto it = node.find("location"); it != node.end() && it->is_number()) where = *it;
    for (const auto& [key, value] : node.items()) {
      if (const char* word = statement_word(key)) {
        long at = where;
        if (value.is_object())
          if (auto loc = value.find("location"); loc != value.end()) at = *loc;
        reject("statement_kind", std::string(word) + " is not allowed: only a read (SELECT) can run", at);
        return;
      }
      if (key == "intoClause") {
        reject("select_into", "SELECT ... INTO creates a table and is not allowed", where);
        return;
      }
      if (key == "lockingClause") {
        reject("locking_clause", "FOR UPDATE/SHARE row locks are not allowed in a read-only query", where);
        return;
      }
      if (key == "FuncCall") check_function(value, where);
      walk(value, where);
      if (verdict) return;
    }
  }

  void check_function(const json& call, long where) {
    if (auto loc = call.find("location"); loc != call.end()) where = *loc;
    const auto& names = call.value("funcname", json::array());
    if (names.empty()) return;
    const json& last = names.back();
    std::string name = last.value("String", json::object()).value("sval", "");
    if (function_denied(name))
      reject("denied_function", "function " + name + "() is not allowed: it has effects beyond reading", where);
  }
};

}  // namespace

core::Result<ValidatedStatement> validate(std::string_view sql, const Policy& policy) {
  // libpg_query needs a NUL-terminated string; an embedded NUL would hide text.
  if (sql.find('\0') != std::string_view::npos)
    return denied("parse_error", "the SQL contains a NUL byte", 0);
  const std::string input(sql);
  PgQueryParseResult parsed = pg_query_parse(input.c_str());
  std::unique_ptr<PgQueryParseResult, void (*)(PgQueryParseResult*)> guard(
      &parsed, [](PgQueryParseResult* r) { pg_query_free_parse_result(*r); });
  if (parsed.error)
    return denied("parse_error", parsed.error->message, parsed.error->cursorpos);

  json tree;
  try {
    tree = json::parse(parsed.parse_tree);
  } catch (const json::exception& e) {
    return denied("parse_error", "the SQL could not be read: invalid characters", 0);
  }
  const auto& stmts = tree.value("stmts", json::array());
  if (stmts.empty()) return denied("empty", "the SQL contains no statement", 0);
  if (stmts.size() > 1) {
    // PostgreSQL starts the next statement right after the ';': point at its first word.
    long second = stmts[1].value("stmt_location", 0L);
    while (second < static_cast<long>(sql.size()) && std::isspace(static_cast<unsigned char>(sql[second])))
      ++second;
    return denied("multiple_statements", "exactly one statement is allowed; found " +
                                             std::to_string(stmts.size()),
                  char_position(sql, second));
  }
  const json& raw = stmts[0];
  const json& stmt = raw.at("stmt");
  const long location = raw.value("stmt_location", 0L);
  const long length = raw.value("stmt_len", 0L);

  if (!stmt.contains("SelectStmt") || !policy.allow_select) {
    std::string kind = stmt.empty() ? "unknown" : stmt.begin().key();
    const char* word = statement_word(kind);
    std::string what = word ? word : kind;
    if (auto pos = what.find("Stmt"); pos != std::string::npos) what.erase(pos);
    return denied("statement_kind", what + " is not allowed: only a read (SELECT) can run",
                  char_position(sql, location));
  }

  Walker walker{sql, policy, std::nullopt};
  walker.walk(stmt, location);
  if (walker.verdict) return *walker.verdict;

  ValidatedStatement out;
  out.text = length > 0 ? input.substr(location, length) : input.substr(location);
  // A trailing "-- comment" must not swallow what the server appends after it.
  out.text.push_back('\n');
  out.start_position = char_position(sql, location);
  PgQueryFingerprintResult fp = pg_query_fingerprint(out.text.c_str());
  if (!fp.error && fp.fingerprint_str) out.fingerprint = fp.fingerprint_str;
  pg_query_free_fingerprint_result(fp);
  return out;
}

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string caret_excerpt(std::string_view sql, int position) {
  if (position <= 0) return {};
  // The byte where the character at `position` (1-based) starts.
  std::size_t byte = 0;
  for (int chars = 0; byte < sql.size(); ++byte)
    if ((static_cast<unsigned char>(sql[byte]) & 0xC0) != 0x80 && ++chars == position) break;
  std::size_t start = sql.rfind('\n', byte == 0 ? 0 : byte - 1);
  start = (start == std::string_view::npos || start >= byte) ? 0 : start + 1;
  std::size_t end = sql.find('\n', byte);
  if (end == std::string_view::npos) end = sql.size();
  std::string line(sql.substr(start, end - start));
  std::size_t col = 0;
  for (std::size_t i = start; i < byte; ++i)
    if ((static_cast<unsigned char>(sql[i]) & 0xC0) != 0x80) ++col;
  return line + "\n" + std::string(col, ' ') + "^";
}

}  // namespace fleetmcp::sql
