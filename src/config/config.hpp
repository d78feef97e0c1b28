// The one Config struct: defaults <- optional config file <- environment, checked
// once at start. No other component reads the environment.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace fleetmcp::config {

struct Token {
  std::string name;   // the analyst, as written in audit lines
  std::string token;  // the secret
};

// One entry of MCP_ALLOWED_MODELS: what a record-API client names, and the
// relation it reads.
struct RecordModel {
  std::string name;      // as clients write it in "model"
  std::string schema;    // empty: the first of readable_schemas that has `relation`
  std::string relation;  // table, view or materialized view
};

// The seed's schemas and sensitive columns: the defaults of MCP_READABLE_SCHEMAS
// and MCP_REDACT_COLUMNS, and of the guard's offline policy (check-sql).
inline const std::vector<std::string> kDefaultReadableSchemas = {"reporting", "tracksolid", "tickets", "fuel"};
inline const std::vector<std::string> kDefaultRedactColumns = {
    "password_hash",  "password",    "secret",        "token",          "api_key",   "totp_secret",
    "encryption_key", "private_key", "client_secret", "webhook_secret", "auth_token"};

struct Config {
  // Listener
  std::string host = "127.0.0.1";
  std::uint16_t port = 8892;
  int threads = 0;  // 0: one per core
  std::size_t max_body_bytes = 1 << 20;
  int max_connections = 4096;         // open client connections per listener; more get 503 and are closed
  bool insecure_no_auth = false;      // only from the command line, never the environment
  bool conformance_fixtures = false;  // the conformance suite's fixtures; command line, tests only
  // DNS-rebinding protection: a foreign Origin is refused; "auto" also refuses
  // a foreign Host when the listener is on loopback (where a reverse proxy on
  // another name is unlikely, and a rebinding attack is the threat).
  enum class HostCheck { Auto, On, Off } host_check = HostCheck::Auto;
  std::vector<std::string> allowed_hosts;  // names besides loopback ones

  // Database
  std::string database_url;
  int pool_max = 8;
  int queue_timeout_ms = 15000;
  int connect_timeout_ms = 5000;
  int statement_timeout_ms = 30000;
  int pool_idle_timeout_s = 60;
  int pool_max_lifetime_s = 1800;
  // Every session's TimeZone (MCP_TIMEZONE); empty: the server's own.
  std::string timezone;
  // Serve even when the start-up self-audit finds the role can write or
  // administer the database (src/doctor); loudly, never silently.
  bool allow_unsafe_role = false;

  // Tools
  int max_rows = 10000;
  std::size_t max_response_bytes = 16 << 20;
  // /mcp replies of at least this many bytes are gzip-compressed for clients
  // that accept it (0: never).
  std::size_t gzip_min_bytes = 1024;
  // The text block a model reads (query, sample_table), in tokens.
  int max_text_tokens = 8000;
  // That budget in bytes of the text as it is sent, at 2.5 bytes per token:
  // digit-heavy CSV costs about that much (prose about 4 bytes per token), so
  // the estimate errs toward more tokens.
  std::size_t text_budget_bytes() const { return static_cast<std::size_t>(max_text_tokens) * 5 / 2; }
  std::vector<std::string> readable_schemas = kDefaultReadableSchemas;
  std::size_t audit_sql_max = 2000;
  int page_size = 100;          // items per page of tools/list, resources/list, prompts/list
  int catalog_refresh_s = 300;  // the guard's catalog is reloaded this often
  bool enforce_schemas = true;
  // Sensitive columns (seed 004's list): never returned, never usable in SQL.
  std::vector<std::string> redact_columns = kDefaultRedactColumns;

  // Auth
  std::vector<Token> auth_tokens;
  // OAuth 2.1 resource server (the MCP authorization specification): JWT
  // access tokens of these issuers, for this resource, are analysts too.
  struct OAuth {
    std::vector<std::string> issuers;  // MCP_OAUTH_ISSUERS; empty: OAuth is off
    std::string audience;              // MCP_OAUTH_AUDIENCE: the resource's canonical URL
    std::vector<std::string> scopes = {"fleet:read"};
    std::string user_claim = "sub";
    std::string groups_claim = "groups";
    bool enabled() const { return !issuers.empty(); }
  } oauth;
  // Per-analyst and per-group policy (MCP_POLICY_FILE, TOML; src/policy).
  std::string policy_file;
  // Per caller, across HTTP, stdio and the record API (a policy may change them).
  int calls_per_minute = 600;
  int concurrent_calls = 0;  // 0: MCP_POOL_MAX
  int concurrent_limit() const { return concurrent_calls > 0 ? concurrent_calls : pool_max; }
  int connections_per_caller = 64;  // open client connections one analyst may hold
  // Operators: /metrics, /status and /readyz's details (MCP_OPERATOR_TOKENS).
  std::vector<Token> operator_tokens;

  // The WebSocket record API of seed 004 (/mcp/ws). Read-only is not optional.
  bool readonly = true;
  bool ws_enabled = false;
  std::string ws_token;  // MCP_TOKEN: one shared token, audited as caller kSharedTokenCaller
  std::vector<RecordModel> ws_models = {
      {"users", "", "users"}, {"tickets", "", "tickets"}, {"change_log", "", "change_log"}};
  int ws_rate_limit = 60;  // requests per minute per connection
  int ws_idle_timeout_s = 300;
  int ws_ping_interval_s = 30;
  std::size_t ws_max_message_bytes = 64 << 10;
};

// The caller name audit lines carry for MCP_TOKEN, which names nobody.
inline constexpr const char* kSharedTokenCaller = "shared";

// One documented setting: the same names in the environment and the config file.
struct Setting {
  const char* name;
  std::string default_text;
  const char* help;
};
const std::vector<Setting>& settings();

using Lookup = std::function<std::optional<std::string>(const std::string&)>;

// Reads KEY=VALUE lines ('#' comments, blank lines, optional quotes).
core::Result<std::map<std::string, std::string>> read_config_file(const std::string& path);

// Applies file values, then environment values, onto the defaults and validates.
// The error message is one line naming the variable and the reason.
core::Result<Config> load(const std::map<std::string, std::string>& file_values, const Lookup& environment);

// Whether a listen address or host name is on loopback.
bool is_loopback_host(std::string_view host);

// A comma-separated list, each item trimmed, empty items dropped: how every
// list setting (and role-sql --exclude-columns) is read.
std::vector<std::string> split_list(const std::string& text);

// The command line's part in who may call. Judged with the configuration by
// with_serve_flags, before anything serves, so the Config an App gets is
// never edited after it was checked.
struct ServeFlags {
  bool insecure_no_auth = false;      // --insecure-no-auth: no tokens, loopback only
  bool conformance_fixtures = false;  // --conformance-fixtures: tests only, loopback only over HTTP
};
// Over HTTP (`serve`): POST /mcp needs tokens (static or OAuth) unless
// --insecure-no-auth binds loopback; /mcp/ws always needs one (MCP_TOKEN or
// MCP_AUTH_TOKENS), so the record API alone may serve without MCP_AUTH_TOKENS.
// stdio's caller is the local process owner: no tokens there.
core::Result<Config> with_serve_flags(Config config, const ServeFlags& flags, bool over_http);

// Parses MCP_AUTH_TOKENS (or, naming it in errors, `setting`): "alice:tok1,bob:tok2".
core::Result<std::vector<Token>> parse_tokens(const std::string& text, const std::string& setting = "MCP_AUTH_TOKENS");

// Parses MCP_ALLOWED_MODELS: "users,tickets=tickets.inc,tickets.change_log".
core::Result<std::vector<RecordModel>> parse_models(const std::string& text);

}  // namespace fleetmcp::config
