#include "config/config.hpp"

#include <libpq-fe.h>
#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <thread>

namespace fleetmcp::config {
namespace {

using core::ErrorKind;
using core::make_error;

std::string trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

}  // namespace

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = trim(text.substr(start, comma - start));
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

namespace {

core::Error bad(const std::string& name, const std::string& reason) {
  return make_error(ErrorKind::BadRequest, name + ": " + reason);
}

core::Result<long long> parse_int(const std::string& name, const std::string& value, long long lo, long long hi) {
  long long n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size())
    return bad(name, "expected a whole number, got '" + value + "'");
  if (n < lo || n > hi) return bad(name, value + " is out of range " + std::to_string(lo) + ".." + std::to_string(hi));
  return n;
}

core::Result<bool> parse_bool(const std::string& name, const std::string& value) {
  static const std::set<std::string> yes = {"1", "true", "yes", "on", "TRUE", "True"};
  static const std::set<std::string> no = {"0", "false", "no", "off", "FALSE", "False", ""};
  if (yes.count(value)) return true;
  if (no.count(value)) return false;
  return bad(name, "expected true or false, got '" + value + "'");
}

// DATABASE_URL through libpq's own parser, at start: a URL that only fails at
// the first connection ("invalid integer value ... for connection option
// port") is refused here, naming the likely cause.
std::optional<std::string> database_url_problem(const std::string& url) {
  static const std::string kEncoding =
      "; in a postgresql:// URL, characters such as / @ : ? # % in the user or password must be "
      "percent-encoded (/ is %2F, @ is %40, : is %3A, % is %25), or use the key=value form "
      "(password='...')";
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (!options) {
    // libpq quotes the text it stumbled on, which may be part of a password.
    std::string message;
    bool quoted = false;
    for (char ch : std::string(error ? error : "libpq could not parse it")) {
      if (ch == '"')
        message += (quoted = !quoted) ? "\"..." : "\"";
      else if (!quoted && ch != '\n')
        message += ch;
    }
    PQfreemem(error);
    return "libpq cannot parse it (" + message + ")" + kEncoding;
  }
  std::optional<std::string> problem;
  for (PQconninfoOption* o = options; o->keyword && !problem; ++o) {
    if (!o->val) continue;
    const std::string keyword = o->keyword, value = o->val;
    if (keyword == "port") {
      // A list for several hosts: each a number (or empty: the default).
      for (const auto& port : split_list(value)) {
        int n = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
        if (ec != std::errc() || end != port.data() + port.size() || n < 1 || n > 65535)
          problem = "its port is not a number (the value is not shown: it may be part of a password)" + kEncoding;
      }
    } else if ((keyword == "dbname" || keyword == "host") && value.find('@') != std::string::npos &&
               url.rfind("postgres", 0) == 0) {
      problem = "its " + std::string(keyword == "host" ? "host" : "database name") + " holds an '@'" + kEncoding;
    }
  }
  PQconninfoFree(options);
  return problem;
}

// An issuer or resource URL: https://, or http:// on a loopback host only (a
// token or key fetched in clear text could be swapped on the way).
std::optional<std::string> url_problem(const std::string& url) {
  const bool https = url.rfind("https://", 0) == 0, http = url.rfind("http://", 0) == 0;
  if (!https && !http) return "is not an https:// URL";
  std::string rest = url.substr(https ? 8 : 7);
  if (rest.find_first_of(" \t\"<>\\#?") != std::string::npos)
    return "is not a plain URL (no blanks, quotes, query or fragment)";
  std::string host = rest.substr(0, rest.find('/'));
  if (host.empty()) return "names no host";
  if (host.front() == '[')
    host = host.substr(0, host.find(']') + 1);
  else
    host = host.substr(0, host.find(':'));
  if (http && !is_loopback_host(host)) return "uses http:// on a host other than loopback; use https://";
  return std::nullopt;
}

bool valid_identifier(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return !std::isdigit(static_cast<unsigned char>(s[0]));
}

// Applies one setting; each case validates its own value.
core::Status apply(Config& c, const std::string& name, const std::string& value) {
  auto int_into = [&](auto& field, long long lo, long long hi) -> core::Status {
    auto n = parse_int(name, value, lo, hi);
    if (!n) return n.error();
    field = static_cast<std::remove_reference_t<decltype(field)>>(*n);
    return core::ok_status();
  };
  if (name == "MCP_HOST") {
    if (value.empty()) return bad(name, "must not be empty");
    c.host = value;
  } else if (name == "MCP_PORT") {
    return int_into(c.port, 0, 65535);
  } else if (name == "MCP_THREADS") {
    return int_into(c.threads, 0, 256);
  } else if (name == "MCP_MAX_CONNECTIONS") {
    return int_into(c.max_connections, 1, 1000000);
  } else if (name == "MCP_MAX_BODY_BYTES") {
    return int_into(c.max_body_bytes, 1024, 64LL << 20);
  } else if (name == "MCP_DNS_REBINDING_PROTECTION") {
    if (value == "auto" || value.empty()) {
      c.host_check = Config::HostCheck::Auto;
    } else {
      auto b = parse_bool(name, value);
      if (!b) return bad(name, "expected auto, true or false, got '" + value + "'");
      c.host_check = *b ? Config::HostCheck::On : Config::HostCheck::Off;
    }
  } else if (name == "MCP_ALLOWED_HOSTS") {
    c.allowed_hosts = split_list(value);
  } else if (name == "DATABASE_URL") {
    if (auto problem = database_url_problem(value)) return bad(name, *problem);
    c.database_url = value;
  } else if (name == "MCP_POOL_MAX") {
    return int_into(c.pool_max, 1, 1000);
  } else if (name == "MCP_QUEUE_TIMEOUT_MS") {
    return int_into(c.queue_timeout_ms, 1, 3600000);
  } else if (name == "MCP_CONNECT_TIMEOUT_MS") {
    return int_into(c.connect_timeout_ms, 100, 600000);
  } else if (name == "MCP_STATEMENT_TIMEOUT_MS") {
    return int_into(c.statement_timeout_ms, 1, 86400000);
  } else if (name == "MCP_TIMEZONE") {
    // PostgreSQL judges the name at the first connection; here only what could
    // not be a zone name, and would need quoting in the startup options.
    if (value.size() > 100 || value.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                      "0123456789_+-/:") != std::string::npos)
      return bad(name, "'" + value +
                           "' is not a time zone name (letters, digits and _ + - / : only, "
                           "such as Africa/Nairobi or UTC)");
    c.timezone = value;
  } else if (name == "MCP_POOL_IDLE_TIMEOUT") {
    return int_into(c.pool_idle_timeout_s, 1, 86400);
  } else if (name == "MCP_POOL_MAX_LIFETIME") {
    return int_into(c.pool_max_lifetime_s, 1, 7 * 86400);
  } else if (name == "MCP_ALLOW_UNSAFE_ROLE") {
    auto b = parse_bool(name, value);
    if (!b) return b.error();
    c.allow_unsafe_role = *b;
  } else if (name == "MCP_MAX_ROWS") {
    return int_into(c.max_rows, 1, 1000000);
  } else if (name == "MCP_MAX_RESPONSE_BYTES") {
    return int_into(c.max_response_bytes, 64 << 10, 1LL << 30);
  } else if (name == "MCP_GZIP_MIN_BYTES") {
    return int_into(c.gzip_min_bytes, 0, 1LL << 30);
  } else if (name == "MCP_MAX_TEXT_TOKENS") {
    return int_into(c.max_text_tokens, 100, 100000000);
  } else if (name == "MCP_READABLE_SCHEMAS") {
    auto list = split_list(value);
    if (list.empty()) return bad(name, "must name at least one schema");
    for (const auto& s : list)
      if (!valid_identifier(s)) return bad(name, "'" + s + "' is not a plain schema name");
    c.readable_schemas = list;
  } else if (name == "MCP_ENFORCE_SCHEMAS") {
    auto b = parse_bool(name, value);
    if (!b) return b.error();
    c.enforce_schemas = *b;
  } else if (name == "MCP_REDACT_COLUMNS") {
    auto list = split_list(value);
    for (const auto& col : list)
      if (col.size() > 63) return bad(name, "'" + col + "' is longer than a PostgreSQL name");
    c.redact_columns = list;
  } else if (name == "MCP_PAGE_SIZE") {
    return int_into(c.page_size, 1, 1000);
  } else if (name == "MCP_CATALOG_REFRESH_S") {
    return int_into(c.catalog_refresh_s, 10, 86400);
  } else if (name == "MCP_AUDIT_SQL_MAX") {
    return int_into(c.audit_sql_max, 0, 1 << 20);
  } else if (name == "MCP_AUTH_TOKENS") {
    auto tokens = parse_tokens(value);
    if (!tokens) return tokens.error();
    c.auth_tokens = std::move(*tokens);
  } else if (name == "MCP_OAUTH_ISSUERS") {
    c.oauth.issuers = split_list(value);
    for (const auto& issuer : c.oauth.issuers)
      if (auto problem = url_problem(issuer)) return bad(name, "'" + issuer + "' " + *problem);
  } else if (name == "MCP_OAUTH_AUDIENCE") {
    if (auto problem = url_problem(value)) return bad(name, "'" + value + "' " + *problem);
    c.oauth.audience = value;
  } else if (name == "MCP_OAUTH_SCOPES") {
    c.oauth.scopes = split_list(value);
    for (const auto& scope : c.oauth.scopes)
      if (scope.find_first_of(" \"\\") != std::string::npos || scope.size() > 200)
        return bad(name, "'" + scope + "' is not a scope (no blanks, quotes or backslashes)");
  } else if (name == "MCP_OAUTH_USER_CLAIM" || name == "MCP_OAUTH_GROUPS_CLAIM") {
    if (value.empty() || value.size() > 200) return bad(name, "must name a claim");
    (name == "MCP_OAUTH_USER_CLAIM" ? c.oauth.user_claim : c.oauth.groups_claim) = value;
  } else if (name == "MCP_POLICY_FILE") {
    c.policy_file = value;
  } else if (name == "MCP_CALLS_PER_MINUTE") {
    return int_into(c.calls_per_minute, 1, 1000000);
  } else if (name == "MCP_CONCURRENT_CALLS") {
    return int_into(c.concurrent_calls, 0, 1000);
  } else if (name == "MCP_CONNECTIONS_PER_CALLER") {
    return int_into(c.connections_per_caller, 1, 1000000);
  } else if (name == "MCP_OPERATOR_TOKENS") {
    auto tokens = parse_tokens(value, name);
    if (!tokens) return tokens.error();
    c.operator_tokens = std::move(*tokens);
  } else if (name == "MCP_ENABLED") {
    auto b = parse_bool(name, value);
    if (!b) return b.error();
    c.ws_enabled = *b;
  } else if (name == "MCP_TOKEN") {
    // Never echo the value: it is a secret.
    if (!value.empty() && value.size() < 8) return bad(name, "shorter than 8 characters");
    c.ws_token = value;
  } else if (name == "MCP_ALLOWED_MODELS") {
    auto models = parse_models(value);
    if (!models) return models.error();
    c.ws_models = std::move(*models);
  } else if (name == "MCP_RATE_LIMIT") {
    return int_into(c.ws_rate_limit, 1, 1000000);
  } else if (name == "MCP_WS_IDLE_TIMEOUT") {
    return int_into(c.ws_idle_timeout_s, 1, 86400);
  } else if (name == "MCP_WS_PING_INTERVAL") {
    return int_into(c.ws_ping_interval_s, 1, 3600);
  } else if (name == "MCP_WS_MAX_MESSAGE_BYTES") {
    return int_into(c.ws_max_message_bytes, 1024, 8LL << 20);
  } else if (name == "MCP_READONLY") {
    auto b = parse_bool(name, value);
    if (!b) return b.error();
    if (!*b) return bad(name, "false is refused: fleetmcp is read-only by design");
    c.readonly = true;
  } else {
    return bad(name, "unknown setting");
  }
  return core::ok_status();
}

std::string joined(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& item : list) out += (out.empty() ? "" : ",") + item;
  return out;
}

}  // namespace

const std::vector<Setting>& settings() {
  static const std::vector<Setting> all = {
      {"DATABASE_URL", "(none)", "libpq connection string or URI of the read-only role"},
      {"MCP_AUTH_TOKENS", "(none)", "per-analyst bearer tokens: name:token,name:token"},
      {"MCP_OPERATOR_TOKENS", "(none)",
       "operator tokens for /metrics and /status (name:token,...; Bearer or Basic auth); unset: both answer 404"},
      {"MCP_OAUTH_ISSUERS", "(none)",
       "OAuth 2.1 authorization servers whose JWT access tokens are accepted (issuer URLs, comma-separated; "
       "http:// only on loopback); set: MCP_AUTH_TOKENS becomes optional"},
      {"MCP_OAUTH_AUDIENCE", "(none)",
       "this server's canonical URL as a resource (RFC 8707), e.g. https://fleet.example.com/mcp: tokens must name it "
       "in aud"},
      {"MCP_OAUTH_SCOPES", "fleet:read",
       "scopes a token must carry (comma-separated); one missing gets 403 insufficient_scope"},
      {"MCP_OAUTH_USER_CLAIM", "sub", "the token claim that names the analyst"},
      {"MCP_OAUTH_GROUPS_CLAIM", "groups", "the token claim that lists the analyst's groups (for MCP_POLICY_FILE)"},
      {"MCP_POLICY_FILE", "(none)",
       "TOML file of per-analyst and per-group policy: schemas, sensitive columns, row cap, statement timeout, "
       "calls per minute, concurrent calls, PostgreSQL role"},
      {"MCP_CALLS_PER_MINUTE", "600",
       "calls that touch the database, per analyst per minute across every connection; more get HTTP 429 with "
       "Retry-After"},
      {"MCP_CONCURRENT_CALLS", "0",
       "calls one analyst may run at once across every connection (0: MCP_POOL_MAX); more get HTTP 429"},
      {"MCP_CONNECTIONS_PER_CALLER", "64",
       "open client connections (HTTP keep-alive, SSE, WebSocket) one analyst may hold; one more gets 429 and is "
       "closed"},
      {"MCP_HOST", "127.0.0.1", "address to listen on"},
      {"MCP_PORT", "8892", "port to listen on (0 picks a free one)"},
      {"MCP_THREADS", "0", "event-loop threads (0: one per core)"},
      {"MCP_MAX_BODY_BYTES", "1048576", "largest request body; larger gets 413"},
      {"MCP_MAX_CONNECTIONS", "4096",
       "open client connections (HTTP keep-alive, SSE, WebSocket) at once; one more gets 503 and is closed"},
      {"MCP_DNS_REBINDING_PROTECTION", "auto",
       "foreign Origin -> 403; auto/true also check Host (auto: when bound to loopback); false: neither"},
      {"MCP_ALLOWED_HOSTS", "(none)", "host names accepted in Host and Origin besides localhost/127.0.0.1/[::1]"},
      {"MCP_POOL_MAX", "8", "most database connections held at once"},
      {"MCP_QUEUE_TIMEOUT_MS", "15000", "longest wait for a free connection before 'server busy'"},
      {"MCP_CONNECT_TIMEOUT_MS", "5000", "longest wait to open a database connection"},
      {"MCP_STATEMENT_TIMEOUT_MS", "30000", "statement_timeout of every tool call"},
      {"MCP_TIMEZONE", "(none)",
       "TimeZone of every database session (now(), current_date, timestamptz text); unset: the server's own"},
      {"MCP_POOL_IDLE_TIMEOUT", "60", "seconds an idle connection is kept before it is closed"},
      {"MCP_POOL_MAX_LIFETIME", "1800", "seconds after which a connection is replaced"},
      {"MCP_ALLOW_UNSAFE_ROLE", "false",
       "serve even if the role self-audit finds it can write or administer (superuser, INSERT, CREATE, ...); "
       "the findings stay in the log, /readyz and the MCP instructions"},
      {"MCP_MAX_ROWS", "10000", "hard ceiling on rows one query returns"},
      {"MCP_MAX_RESPONSE_BYTES", "16777216",
       "largest tool response; a result that would exceed it is cut (truncated, with a note)"},
      {"MCP_GZIP_MIN_BYTES", "1024",
       "/mcp replies of at least this size go gzip-compressed to clients that accept it (0: never)"},
      {"MCP_MAX_TEXT_TOKENS", "8000",
       "largest rows text a model gets from query and sample_table, in tokens estimated as 2.5 bytes each "
       "(20000 bytes; clients warn above 10000 tokens); the rows are cut at a whole row (truncated, with a note)"},
      {"MCP_READABLE_SCHEMAS", joined(kDefaultReadableSchemas), "schemas the introspection tools expose"},
      {"MCP_ENFORCE_SCHEMAS", "true",
       "schema-qualified relations must be in MCP_READABLE_SCHEMAS, pg_catalog or information_schema"},
      {"MCP_REDACT_COLUMNS", joined(kDefaultRedactColumns), "columns never returned nor usable in SQL (empty: none)"},
      {"MCP_PAGE_SIZE", "100", "items per page of the MCP list methods (tools, resources, templates, prompts)"},
      {"MCP_CATALOG_REFRESH_S", "300",
       "seconds between reloads of the catalog the SQL guard judges functions by (sooner when it meets an "
       "unknown function)"},
      {"MCP_AUDIT_SQL_MAX", "2000", "longest SQL text written into one audit line"},
      {"MCP_READONLY", "true", "must be true: writes do not exist in fleetmcp"},
      {"MCP_ENABLED", "false", "serve the WebSocket record API on /mcp/ws (list/get/query of MCP_ALLOWED_MODELS)"},
      {"MCP_TOKEN", "(none)",
       "one shared token for /mcp/ws, audited as caller 'shared' (MCP_AUTH_TOKENS work there too)"},
      {"MCP_ALLOWED_MODELS", "users,tickets,change_log",
       "record API models: name (found in MCP_READABLE_SCHEMAS), schema.table, or name=schema.table"},
      {"MCP_RATE_LIMIT", "60", "record API requests per minute per connection; one more closes it"},
      {"MCP_WS_IDLE_TIMEOUT", "300", "seconds without a request before the server closes a /mcp/ws connection"},
      {"MCP_WS_PING_INTERVAL", "30",
       "seconds of silence before the server pings a /mcp/ws client; no answer in as long again closes it"},
      {"MCP_WS_MAX_MESSAGE_BYTES", "65536", "largest record API request; larger gets an error frame"},
  };
  return all;
}

// Exactly "localhost", or a literal loopback address (127.0.0.0/8, ::1): a
// prefix test would let "127.evil.example" through.
bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

core::Result<std::vector<Token>> parse_tokens(const std::string& text, const std::string& setting) {
  std::vector<Token> out;
  std::set<std::string> names, secrets;
  for (const auto& item : split_list(text)) {
    auto colon = item.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == item.size())
      return bad(setting, "each entry must be name:token");
    Token t{trim(item.substr(0, colon)), trim(item.substr(colon + 1))};
    if (t.token.size() < 8) return bad(setting, "token of '" + t.name + "' is shorter than 8 characters");
    if (!names.insert(t.name).second) return bad(setting, "name '" + t.name + "' appears twice");
    if (!secrets.insert(t.token).second) return bad(setting, "two names share one token");
    out.push_back(std::move(t));
  }
  return out;
}

core::Result<std::vector<RecordModel>> parse_models(const std::string& text) {
  const std::string name = "MCP_ALLOWED_MODELS";
  std::vector<RecordModel> out;
  std::set<std::string> names;
  for (const auto& item : split_list(text)) {
    RecordModel m;
    const auto eq = item.find('=');
    const std::string target = trim(eq == std::string::npos ? item : item.substr(eq + 1));
    m.name = eq == std::string::npos ? item : trim(item.substr(0, eq));
    const auto dot = target.find('.');
    m.relation = dot == std::string::npos ? target : target.substr(dot + 1);
    if (dot != std::string::npos) m.schema = target.substr(0, dot);
    if (m.name.empty() || m.name.size() > 127 ||
        m.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
            std::string::npos)
      return bad(name, "'" + m.name + "' is not a model name (letters, digits, _ . -)");
    if (!valid_identifier(m.relation) || (dot != std::string::npos && !valid_identifier(m.schema)))
      return bad(name, "'" + target + "' is not a plain table or schema.table name");
    if (!names.insert(m.name).second) return bad(name, "model '" + m.name + "' appears twice");
    out.push_back(std::move(m));
  }
  if (out.empty()) return bad(name, "must name at least one model");
  return out;
}

core::Result<std::map<std::string, std::string>> read_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorKind::BadRequest, "config file " + path + ": cannot be read");
  std::map<std::string, std::string> values;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos)
      return make_error(ErrorKind::BadRequest,
                        "config file " + path + ":" + std::to_string(lineno) + ": expected KEY=VALUE");
    std::string key = trim(line.substr(0, eq));
    std::string value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    values[key] = value;
  }
  return values;
}

core::Result<Config> load(const std::map<std::string, std::string>& file_values, const Lookup& environment) {
  Config c;
  for (const auto& [name, value] : file_values)
    if (auto st = apply(c, name, value); !st) return st.error();
  for (const auto& s : settings())
    if (auto value = environment(s.name))
      if (auto st = apply(c, s.name, *value); !st) return st.error();
  if (c.threads == 0) c.threads = std::max(1u, std::thread::hardware_concurrency());
  if (c.oauth.enabled() && c.oauth.audience.empty())
    return bad("MCP_OAUTH_AUDIENCE",
               "must be set with MCP_OAUTH_ISSUERS: the URL clients reach this server's MCP "
               "endpoint at, which tokens must name as their audience");
  if (!c.oauth.enabled() && !c.oauth.audience.empty())
    return bad("MCP_OAUTH_ISSUERS", "must be set with MCP_OAUTH_AUDIENCE");
  // Checks across settings, once every value is in.
  for (const auto& m : c.ws_models)
    if (!m.schema.empty() &&
        std::find(c.readable_schemas.begin(), c.readable_schemas.end(), m.schema) == c.readable_schemas.end())
      return bad("MCP_ALLOWED_MODELS", "'" + m.schema + "." + m.relation + "' is outside MCP_READABLE_SCHEMAS");
  // An operator token opens the server's inside, an analyst's the data: never one secret for both.
  for (const auto& o : c.operator_tokens) {
    for (const auto& t : c.auth_tokens)
      if (o.token == t.token)
        return bad("MCP_OPERATOR_TOKENS", "the token of '" + o.name + "' is also the analyst '" + t.name +
                                              "'s in MCP_AUTH_TOKENS; give the operator their own");
    if (o.token == c.ws_token)
      return bad("MCP_OPERATOR_TOKENS", "the token of '" + o.name + "' equals MCP_TOKEN; give the operator their own");
  }
  if (!c.ws_token.empty())
    for (const auto& t : c.auth_tokens) {
      if (t.name == kSharedTokenCaller)
        return bad("MCP_AUTH_TOKENS", std::string("the name '") + kSharedTokenCaller +
                                          "' is MCP_TOKEN's in audit lines; name the analyst otherwise");
      if (t.token == c.ws_token)
        return bad("MCP_TOKEN", "equals the token of '" + t.name + "' in MCP_AUTH_TOKENS; give it its own value");
    }
  return c;
}

core::Result<Config> with_serve_flags(Config config, const ServeFlags& flags, bool over_http) {
  auto refuse = [](std::string message) { return core::make_error(core::ErrorKind::BadRequest, std::move(message)); };
  if (flags.conformance_fixtures) {
    if (over_http && !is_loopback_host(config.host))
      return refuse("--conformance-fixtures: refused with MCP_HOST=" + config.host +
                    "; it is for loopback test servers");
    config.conformance_fixtures = true;
  }
  if (!over_http) return config;
  if (config.ws_enabled && config.ws_token.empty() && config.auth_tokens.empty())
    return refuse("MCP_ENABLED: true needs a token for /mcp/ws; set MCP_TOKEN or MCP_AUTH_TOKENS");
  const bool record_api_only = config.auth_tokens.empty() && !config.oauth.enabled() && config.ws_enabled;
  if (config.auth_tokens.empty() && !config.oauth.enabled() && !flags.insecure_no_auth && !record_api_only)
    return refuse(
        "MCP_AUTH_TOKENS: no tokens configured; set name:token pairs or MCP_OAUTH_ISSUERS, or pass "
        "--insecure-no-auth for a loopback-only trial");
  if (flags.insecure_no_auth) {
    if (!is_loopback_host(config.host))
      return refuse("--insecure-no-auth: refused with MCP_HOST=" + config.host + "; it binds loopback only");
    config.insecure_no_auth = true;
  }
  return config;
}

}  // namespace fleetmcp::config
