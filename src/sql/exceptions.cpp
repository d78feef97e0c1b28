#include "sql/exceptions.hpp"

#include <cctype>

namespace fleetmcp::sql {
namespace {

struct Entry {
  std::string_view name;  // a view, so lists compare lengths before bytes
  const char* why;
};

// ASCII case folding, as PostgreSQL folds unquoted identifiers (no locale).
constexpr unsigned char fold(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() &&
         fold(static_cast<unsigned char>(s[0])) == fold(static_cast<unsigned char>(prefix[0])) &&
         iequals(s.substr(0, prefix.size()), prefix);
}

template <std::size_t N>
const char* find(const Entry (&list)[N], std::string_view name) {
  for (const auto& e : list)
    if (e.name.size() == name.size() && iequals(name, e.name)) return e.why;
  return nullptr;
}

constexpr const char* kRunsSql = "it runs SQL text or reads whole tables outside the guard's view";
constexpr const char* kSettings = "it reveals server settings, where applications keep secrets";
constexpr const char* kSessions = "it reaches other sessions or transaction ids";
constexpr const char* kFiles = "it reveals server file paths or files";
constexpr const char* kStatements = "it shows the SQL other analysts ran (every analyst's calls run as one role)";

// Stable or immutable functions that are still not harmless reads. (Volatile
// ones with the same effects are refused by volatility already; the prefixes
// below repeat them so a wrongly marked copy in another schema is refused too.)
const Entry kDenied[] = {
    {"table_to_xml", kRunsSql},
    {"table_to_xml_and_xmlschema", kRunsSql},
    {"table_to_xmlschema", kRunsSql},
    {"schema_to_xml", kRunsSql},
    {"schema_to_xml_and_xmlschema", kRunsSql},
    {"schema_to_xmlschema", kRunsSql},
    {"database_to_xml", kRunsSql},
    {"database_to_xml_and_xmlschema", kRunsSql},
    {"database_to_xmlschema", kRunsSql},
    {"ts_stat", kRunsSql},
    {"pg_show_all_settings", kSettings},
    {"set_config", kSettings},
    {"txid_current", kSessions},
    {"txid_current_if_assigned", kSessions},
    {"pg_current_xact_id", kSessions},
    {"pg_current_xact_id_if_assigned", kSessions},
    {"pg_stat_get_activity", "it shows other analysts' SQL"},
    {"pg_lock_status", "it shows what other sessions lock and read"},
    {"pg_terminate_backend", kSessions},
    {"pg_cancel_backend", kSessions},
    {"pg_config", kFiles},
    {"pg_relation_filepath", kFiles},
    {"pg_tablespace_location", kFiles},
    {"pg_current_logfile", kFiles},
    {"pg_stat_file", kFiles},
    {"setseed", "it changes the session's random seed, which would outlive the call"},
    {"pg_notify", "it sends a notification to other sessions"},
};

const Entry kDeniedPrefixes[] = {
    {"query_to_xml", kRunsSql},
    {"cursor_to_xml", kRunsSql},
    {"query_to_json", kRunsSql},
    {"dblink", "it connects to other databases"},
    {"pg_read_", kFiles},
    {"pg_ls_", kFiles},
    {"pg_file_", kFiles},
    {"lo_", "it reads or writes large objects"},
    {"pg_advisory_", "it takes or releases advisory locks, which block other sessions or outlive the call"},
    {"pg_try_advisory_", "it takes advisory locks, which block other sessions or outlive the call"},
    {"pg_sleep", "it only waits, holding a connection"},
    {"pg_stat_get_backend_", "it inspects other sessions (their SQL, clients, times)"},
    {"pg_stat_statements", kStatements},
};

// Volatile functions that only read or compute: what an analyst needs.
const Entry kAllowedVolatile[] = {
    {"random", "a random number; reads nothing"},
    {"random_normal", "a random number; reads nothing"},
    {"gen_random_uuid", "a random UUID; reads nothing"},
    {"uuid_generate_v4", "a random UUID (uuid-ossp); reads nothing"},
    {"clock_timestamp", "the current time"},
    {"timeofday", "the current time as text"},
    {"array_shuffle", "a random permutation of its argument"},
    {"array_sample", "a random sample of its argument"},
    {"pg_relation_size", "a relation's size on disk, which the role can see in pg_class anyway"},
    {"pg_total_relation_size", "a relation's size on disk"},
    {"pg_table_size", "a table's size on disk"},
    {"pg_indexes_size", "a table's index size on disk"},
    {"pg_database_size", "the database's size on disk"},
    {"pg_jit_available", "whether JIT is available"},
    {"pg_is_in_recovery", "whether this server is a standby"},
    {"pg_last_xact_replay_timestamp", "how fresh a standby's data is"},
    {"pg_last_wal_receive_lsn", "a standby's replication position"},
    {"pg_last_wal_replay_lsn", "a standby's replication position"},
};

// The settings an analyst's query may read (SHOW, current_setting()).
const std::string_view kReadableSettings[] = {
    "application_name",
    "bytea_output",
    "client_encoding",
    "client_min_messages",
    "constraint_exclusion",
    "cpu_index_tuple_cost",
    "cpu_operator_cost",
    "cpu_tuple_cost",
    "cursor_tuple_fraction",
    "datestyle",
    "default_statistics_target",
    "default_text_search_config",
    "default_transaction_isolation",
    "default_transaction_read_only",
    "effective_cache_size",
    "effective_io_concurrency",
    "extra_float_digits",
    "from_collapse_limit",
    "geqo",
    "geqo_threshold",
    "idle_in_transaction_session_timeout",
    "integer_datetimes",
    "intervalstyle",
    "jit",
    "join_collapse_limit",
    "lc_collate",
    "lc_ctype",
    "lc_messages",
    "lc_monetary",
    "lc_numeric",
    "lc_time",
    "lock_timeout",
    "maintenance_work_mem",
    "max_connections",
    "max_parallel_workers",
    "max_parallel_workers_per_gather",
    "max_worker_processes",
    "min_parallel_index_scan_size",
    "min_parallel_table_scan_size",
    "parallel_setup_cost",
    "parallel_tuple_cost",
    "plan_cache_mode",
    "random_page_cost",
    "search_path",
    "seq_page_cost",
    "server_encoding",
    "server_version",
    "server_version_num",
    "shared_buffers",
    "standard_conforming_strings",
    "statement_timeout",
    "timezone",
    "transaction_isolation",
    "transaction_read_only",
    "work_mem",
    "block_size",
    "max_identifier_length",
    "max_function_args",
    "max_index_keys",
    "data_checksums",
    "default_toast_compression",
    "enable_partitionwise_join",
    "enable_partitionwise_aggregate",
};

const Entry kRefusedRelations[] = {
    {"pg_authid", "it holds password hashes"},
    {"pg_shadow", "it holds password hashes"},
    {"pg_user_mappings", "it holds connection secrets"},
    {"pg_user_mapping", "it holds connection secrets"},
    {"pg_hba_file_rules", "it shows the server's access rules"},
    {"pg_ident_file_mappings", "it shows the server's access rules"},
    {"pg_file_settings", kSettings},
    {"pg_settings", kSettings},
    {"pg_db_role_setting", kSettings},
    {"pg_roles", "its rolconfig shows role settings, where applications keep secrets"},
    {"pg_user", "its useconfig shows role settings, where applications keep secrets"},
    {"pg_stat_activity", "it shows other analysts' SQL"},
    {"pg_locks", "it shows what other sessions lock and read"},
    {"pg_stat_ssl", "it lists other sessions"},
    {"pg_stat_gssapi", "it lists other sessions"},
    {"pg_statistic", "it holds samples of column values, sensitive ones included"},
    {"pg_stats", "it holds samples of column values, sensitive ones included"},
    {"pg_stats_ext", "it holds samples of column values, sensitive ones included"},
    {"pg_stats_ext_exprs", "it holds samples of column values, sensitive ones included"},
    {"pg_statistic_ext_data", "it holds samples of column values, sensitive ones included"},
};

// The statistics views count what every session read and ran: which tables
// another analyst scans, and how much, seconds later.
constexpr const char* kActivityCounters =
    "it counts what other sessions read and run (every analyst's calls run as one role)";
const Entry kRefusedRelationPrefixes[] = {
    {"pg_stat_", kActivityCounters},
    {"pg_statio_", kActivityCounters},
};

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (fold(static_cast<unsigned char>(a[i])) != fold(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

const char* denied_function_reason(std::string_view name) {
  if (const char* why = find(kDenied, name)) return why;
  for (const auto& e : kDeniedPrefixes)
    if (istarts_with(name, e.name)) return e.why;
  return nullptr;
}

const char* allowed_volatile_reason(std::string_view name) { return find(kAllowedVolatile, name); }

bool readable_setting(std::string_view name) {
  if (name.find('.') != std::string_view::npos) return false;
  if (istarts_with(name, "enable_")) return true;  // the planner's switches
  for (std::string_view s : kReadableSettings)
    if (iequals(name, s)) return true;
  return false;
}

const char* refused_relation_reason(std::string_view schema, std::string_view name) {
  // pg_stat_statements lives wherever its extension was installed.
  if (istarts_with(name, "pg_stat_statements")) return kStatements;
  if (!schema.empty() && !iequals(schema, "pg_catalog")) return nullptr;
  if (const char* why = find(kRefusedRelations, name)) return why;
  for (const auto& e : kRefusedRelationPrefixes)
    if (istarts_with(name, e.name)) return e.why;
  return nullptr;
}

}  // namespace fleetmcp::sql
