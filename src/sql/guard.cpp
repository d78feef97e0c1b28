#include "sql/guard.hpp"

#include <pg_query.h>
#include <simdjson.h>

#include <array>
#include <cstring>
#include <memory>
#include <optional>

namespace fleetmcp::sql {
namespace {

using core::Error;
using core::ErrorKind;
namespace dom = simdjson::dom;

Error denied(std::string rule, std::string message, int position) {
  Error e;
  e.kind = ErrorKind::Denied;
  e.rule = std::move(rule);
  e.message = std::move(message);
  e.position = position;
  return e;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
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

const char* statement_word(std::string_view node) {
  if (node.size() < 4 || node.substr(node.size() - 4) != "Stmt") return nullptr;  // fast path: most keys
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
    "pg_import_system_collations", "pg_logical_emit_message", "loread", "lowrite",
};
const std::array kDeniedFunctionPrefixes = {
    "pg_ls_", "lo_", "dblink", "pg_sleep", "pg_advisory_lock", "pg_advisory_unlock",
    "pg_try_advisory_lock", "query_to_xml", "cursor_to_xml", "table_to_xml",
    "query_to_json", "schema_to_xml", "database_to_xml", "ts_stat", "pg_stat_reset",
    "pg_replication_origin_", "pg_create_", "pg_drop_replication_slot",
    "pg_logical_slot_", "pg_replication_slot_advance", "pg_file_",
};

bool function_denied(std::string_view name) {
  for (const char* f : kDeniedFunctions)
    if (iequals(name, f)) return true;
  for (const char* p : kDeniedFunctionPrefixes)
    if (name.size() >= std::strlen(p) && iequals(name.substr(0, std::strlen(p)), p)) return true;
  return false;
}

// Catalogs that hold secrets. The role cannot read them anyway; naming them gets
// a clear refusal instead of a permission error.
const std::array kSecretCatalogs = {
    "pg_authid", "pg_shadow", "pg_user_mappings", "pg_hba_file_rules", "pg_file_settings",
    "pg_ident_file_mappings", "pg_statistic",
};

// Settings SHOW may not reveal: file paths, commands and connection strings of
// the server. (PostgreSQL hides most from non-superusers; this is the fourth layer.)
const std::array kSecretSettings = {
    "all", "data_directory", "config_file", "hba_file", "ident_file", "external_pid_file",
    "primary_conninfo", "primary_slot_name", "archive_command", "archive_library",
    "restore_command", "archive_cleanup_command", "recovery_end_command", "krb_server_keyfile",
    "ssl_key_file", "ssl_cert_file", "ssl_ca_file", "ssl_crl_file", "ssl_crl_dir",
    "ssl_passphrase_command", "log_directory", "unix_socket_directories", "dynamic_library_path",
    "local_preload_libraries", "session_preload_libraries", "shared_preload_libraries",
};

// Schemas every read may use besides the configured ones.
const std::array kSystemSchemas = {"pg_catalog", "information_schema"};

template <class List>
bool contains(const List& list, std::string_view name) {
  for (const auto& item : list)
    if (name == item) return true;
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

// Accessors over libpg_query's JSON tree, for an element or a simdjson_result
// of one. A missing or mistyped field is an error that propagates through
// simdjson_result and reads as empty.
using Node = simdjson::simdjson_result<dom::element>;
template <class E>
std::string_view str(E&& e) {
  std::string_view v;
  return e.get(v) == simdjson::SUCCESS ? v : std::string_view();
}
template <class E>
Node field(E&& e, std::string_view key) {
  return e[key];
}
template <class E>
long int_of(E&& e, std::string_view key, long fallback) {
  int64_t v;
  return e[key].get(v) == simdjson::SUCCESS ? static_cast<long>(v) : fallback;
}
template <class E>
long location_of(E&& e, long fallback) {
  return int_of(e, "location", fallback);
}
// {"String":{"sval":"name"}} -> name
template <class E>
std::string_view string_node(E&& e) {
  return str(e["String"]["sval"]);
}

// A 64-bit FNV-1a hash over the tree without positions and constant values, so
// that statements of the same shape share a fingerprint (the idea of
// pg_query_fingerprint, computed in the same pass instead of a second parse).
struct Fingerprint {
  uint64_t h = 1469598103934665603ull;
  void add(std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xFF) * 1099511628211ull;  // separator
  }
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
  }
};

bool is_position_key(std::string_view key) {
  return key == "location" || key == "stmt_location" || key == "stmt_len";
}

struct Walker {
  std::string_view sql;
  const Policy& policy;
  std::optional<Error> verdict;
  std::vector<std::string> cte_names;
  std::vector<std::string> unqualified;
  Fingerprint fingerprint;

  void reject(std::string rule, std::string message, long location) {
    if (!verdict) verdict = denied(std::move(rule), std::move(message), char_position(sql, location));
  }

  // Visits every node once; `where` is the nearest enclosing location seen.
  void walk(dom::element node, long where) {
    if (verdict) return;
    dom::array array;
    if (node.get(array) == simdjson::SUCCESS) {
      fingerprint.add("[");
      for (dom::element child : array) walk(child, where);
      fingerprint.add("]");
      return;
    }
    dom::object object;
    if (node.get(object) != simdjson::SUCCESS) {
      std::string_view text;
      int64_t number;
      if (node.get(text) == simdjson::SUCCESS) fingerprint.add(text);
      else if (node.get(number) == simdjson::SUCCESS) fingerprint.add(std::string_view(
          reinterpret_cast<const char*>(&number), sizeof number));
      else fingerprint.add(node.is_null() ? "n" : "b");
      return;
    }
    where = location_of(node, where);
    for (dom::key_value_pair kv : object) {
      const std::string_view key = kv.key;
      if (is_position_key(key)) continue;
      fingerprint.add(key);
      if (const char* word = statement_word(key)) {
        reject("statement_kind", std::string(word) + " is not allowed: only a read (SELECT) can run",
               location_of(kv.value, where));
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
      if (key == "A_Const") continue;  // a constant's value does not change the shape
      if (key == "CommonTableExpr") cte_names.emplace_back(str(field(kv.value, "ctename")));
      if (key == "FuncCall") check_function(kv.value, location_of(kv.value, where));
      if (key == "RangeVar") check_relation(kv.value, location_of(kv.value, where));
      if (key == "ColumnRef") check_column_fields(field(kv.value, "fields"), location_of(kv.value, where));
      if (key == "A_Indirection") check_column_fields(field(kv.value, "indirection"), where);
      // Join columns (USING) and alias column lists name columns without a
      // ColumnRef; a sensitive name there would be an oracle too.
      if (key == "usingClause" || key == "colnames") check_column_fields(kv.value, where);
      walk(kv.value, where);
      if (verdict) return;
    }
  }

  bool schema_readable(std::string_view schema) const {
    return contains(kSystemSchemas, schema) || contains(policy.readable_schemas, schema);
  }

  void check_function(dom::element call, long at) {
    dom::array names;
    if (field(call, "funcname").get(names) != simdjson::SUCCESS || names.size() == 0) return;
    std::vector<std::string_view> parts;
    for (dom::element n : names) parts.push_back(string_node(n));
    const std::string name(parts.back());
    if (function_denied(name)) {
      reject("denied_function", "function " + name + "() is not allowed: it has effects beyond reading", at);
      return;
    }
    if (parts.size() >= 2 && policy.enforce_schemas && !schema_readable(parts[parts.size() - 2])) {
      const std::string schema(parts[parts.size() - 2]);
      reject("schema_not_readable",
             "schema " + schema + " is not readable here (function " + schema + "." + name + ")", at);
    }
  }

  void check_relation(dom::element range, long at) {
    const std::string name(str(field(range, "relname")));
    const std::string schema(str(field(range, "schemaname")));
    if (contains(kSecretCatalogs, name) && (schema.empty() || schema == "pg_catalog")) {
      reject("secret_catalog", name + " holds secrets and is not readable", at);
      return;
    }
    if (schema.empty()) {
      unqualified.push_back(name);
      return;
    }
    if (policy.enforce_schemas && !schema_readable(schema))
      reject("schema_not_readable",
             "schema " + schema + " is not readable here (relation " + schema + "." + name + ")", at);
  }

  // The last name of a column reference, or any field of an indirection, that
  // names a sensitive column: rejected wherever it appears (a WHERE on it would
  // be an oracle).
  template <class E>
  void check_column_fields(E&& fields, long at) {
    dom::array list;
    if (fields.get(list) != simdjson::SUCCESS) return;
    for (dom::element f : list) {
      const std::string_view name = string_node(f);
      if (!name.empty() && is_redacted_column(policy, name)) {
        reject("sensitive_column",
               "column " + std::string(name) + " is sensitive and may not be read or filtered on", at);
        return;
      }
    }
  }
};

std::optional<Error> check_explain(Node explain, long location, std::string_view sql) {
  dom::array options;
  if (field(explain, "options").get(options) == simdjson::SUCCESS)
    for (dom::element option : options) {
      Node def = field(option, "DefElem");
      if (iequals(str(field(def, "defname")), "analyze"))
        return denied("explain_analyze", "EXPLAIN ANALYZE runs the statement and is not allowed; use plain EXPLAIN",
                      char_position(sql, location_of(def, location)));
    }
  dom::object query;
  if (field(explain, "query").get(query) != simdjson::SUCCESS || query["SelectStmt"].error()) {
    std::string_view kind = "unknown";
    if (query.size() > 0) kind = (*query.begin()).key;
    const char* word = statement_word(kind);
    return denied("statement_kind",
                  "EXPLAIN of " + std::string(word ? word : kind) + " is not allowed: only a read (SELECT) can run",
                  char_position(sql, location));
  }
  return std::nullopt;
}

}  // namespace

bool is_redacted_column(const Policy& policy, std::string_view column) {
  for (const auto& c : policy.redact_columns)
    if (iequals(c, column)) return true;
  return false;
}

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

  // One reusable simdjson parser per thread: it keeps its buffers between calls.
  thread_local dom::parser json_parser;
  dom::element tree;
  if (json_parser.parse(parsed.parse_tree, std::strlen(parsed.parse_tree)).get(tree) != simdjson::SUCCESS)
    return denied("parse_error", "the SQL could not be read: invalid characters", 0);
  dom::array stmts;
  if (field(tree, "stmts").get(stmts) != simdjson::SUCCESS || stmts.size() == 0)
    return denied("empty", "the SQL contains no statement", 0);
  if (stmts.size() > 1) {
    // PostgreSQL starts the next statement right after the ';': point at its first word.
    long second = int_of(stmts.at(1), "stmt_location", 0);
    while (second < static_cast<long>(sql.size()) && std::isspace(static_cast<unsigned char>(sql[second])))
      ++second;
    return denied("multiple_statements",
                  "exactly one statement is allowed; found " + std::to_string(stmts.size()),
                  char_position(sql, second));
  }
  const Node raw = stmts.at(0);
  const Node stmt = field(raw, "stmt");
  const long location = int_of(raw, "stmt_location", 0);
  const long length = int_of(raw, "stmt_len", 0);

  ValidatedStatement out;
  Node to_walk = stmt;
  dom::object stmt_object;
  std::string_view kind = "unknown";
  if (stmt.get(stmt_object) == simdjson::SUCCESS && stmt_object.size() > 0) kind = (*stmt_object.begin()).key;
  if (kind == "ExplainStmt") {
    if (auto e = check_explain(field(stmt, kind), location, sql)) return *e;
    out.kind = StatementKind::Explain;
    to_walk = field(field(stmt, kind), "query");
  } else if (kind == "VariableShowStmt") {
    const std::string_view name = str(field(field(stmt, kind), "name"));
    bool secret = false;
    for (const char* s : kSecretSettings) secret = secret || iequals(name, s);
    if (secret || name.find("password") != std::string_view::npos)
      return denied("secret_setting",
                    "SHOW " + std::string(name) + " is not allowed: it reveals server secrets or paths",
                    char_position(sql, location));
    out.kind = StatementKind::Show;
    to_walk = field(stmt, kind);  // just the setting's name: nothing inside to refuse
  } else if (kind != "SelectStmt") {
    const char* word = statement_word(kind);
    std::string what = word ? word : std::string(kind);
    if (auto pos = what.find("Stmt"); pos != std::string::npos) what.erase(pos);
    return denied("statement_kind", what + " is not allowed: only a read (SELECT) can run",
                  char_position(sql, location));
  }

  Walker walker{sql, policy, std::nullopt, {}, {}, {}};
  walker.fingerprint.add(kind);
  dom::element walk_root;
  if (to_walk.get(walk_root) != simdjson::SUCCESS) return denied("parse_error", "the SQL could not be read", 0);
  walker.walk(walk_root, location);
  if (walker.verdict) return *walker.verdict;
  for (const auto& name : walker.unqualified)
    if (!contains(walker.cte_names, name) && !contains(out.unqualified_relations, name))
      out.unqualified_relations.push_back(name);

  out.text = length > 0 ? input.substr(location, length) : input.substr(location);
  // A trailing "-- comment" must not swallow what the server appends after it.
  out.text.push_back('\n');
  out.start_position = char_position(sql, location);
  out.fingerprint = walker.fingerprint.hex();
  return out;
}

std::string normalize(std::string_view sql) {
  const std::string input(sql);
  PgQueryNormalizeResult r = pg_query_normalize(input.c_str());
  std::string out = (!r.error && r.normalized_query) ? r.normalized_query : "";
  pg_query_free_normalize_result(r);
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
