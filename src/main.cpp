// fleetmcp: wiring only. Parses the command line, loads the configuration and
// runs the chosen subcommand.
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <iostream>
#include <iterator>

#include "app/app.hpp"
#include "mcp/stdio.hpp"
#include "ops/role_sql.hpp"
#include "sql/guard.hpp"

namespace {

using fleetmcp::config::Config;

void print_help() {
  std::printf(
      "fleetmcp %s — a read-only PostgreSQL gateway for MCP clients\n\n"
      "Usage:\n"
      "  fleetmcp serve [--config FILE] [--insecure-no-auth]\n"
      "                      serve MCP over Streamable HTTP on MCP_HOST:MCP_PORT\n"
      "                      (POST /mcp; GET /healthz, GET /readyz)\n"
      "  fleetmcp stdio [--config FILE]\n"
      "                      serve MCP over stdin/stdout (newline-delimited JSON-RPC)\n"
      "  fleetmcp check-sql [SQL | -]\n"
      "                      print the guard's verdict on SQL (argument or stdin): rule,\n"
      "                      statement, normalized form, fingerprint; exit 0 allowed, 1 rejected\n"
      "  fleetmcp role-sql [--role NAME] [--exclude-columns a,b | --no-exclude-columns]\n"
      "                      print the read-only role's DDL for MCP_READABLE_SCHEMAS; tables with\n"
      "                      excluded columns (default MCP_REDACT_COLUMNS) get column-level grants\n"
      "  fleetmcp token new NAME\n"
      "                      print a new token for NAME and the MCP_AUTH_TOKENS line including it\n"
      "  fleetmcp version    print the version\n"
      "  fleetmcp --help     this text\n\n"
      "Options:\n"
      "  --config FILE       KEY=VALUE lines with the settings below; the environment wins\n"
      "  --insecure-no-auth  serve without bearer tokens (loopback only; for local trials)\n\n"
      "Settings (environment variables):\n",
      fleetmcp::app::version());
  for (const auto& s : fleetmcp::config::settings())
    std::printf("  %-26s %s (default: %s)\n", s.name, s.help, s.default_text);
  std::printf(
      "\nEvery tool call runs as BEGIN READ ONLY ... ROLLBACK; the SQL guard accepts one SELECT.\n"
      "Audit: one JSON line per tool call on stdout (serve) or stderr (stdio).\n");
}

int fail(const std::string& message) {
  std::fprintf(stderr, "fleetmcp: %s\n", message.c_str());
  return 2;
}

// check-sql: the guard's verdict for operators, with the policy the server would use.
int check_sql(const Config& config, const std::vector<std::string>& args) {
  std::string sql;
  if (args.size() > 2) return fail("check-sql takes one SQL argument (or - / nothing for stdin)");
  if (args.size() == 2 && args[1] != "-") {
    sql = args[1];
  } else {
    sql.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  const fleetmcp::sql::Policy policy{config.enforce_schemas, config.readable_schemas, config.redact_columns};
  auto verdict = fleetmcp::sql::validate(sql, policy);
  if (!verdict) {
    const auto& e = verdict.error();
    std::printf("verdict: rejected\nrule: %s\nmessage: %s\n", e.rule.c_str(), e.message.c_str());
    if (e.position > 0)
      std::printf("position: %d\n%s\n", e.position, fleetmcp::sql::caret_excerpt(sql, e.position).c_str());
    return 1;
  }
  const char* kinds[] = {"select", "explain", "show"};
  std::printf("verdict: allowed\nkind: %s\nstatement: %s", kinds[static_cast<int>(verdict->kind)],
              verdict->text.c_str());
  const std::string statement = verdict->text.substr(0, verdict->text.size() - 1);  // without the added newline
  std::printf("normalized: %s\nfingerprint: %s\n", fleetmcp::sql::normalize(statement).c_str(),
              verdict->fingerprint.c_str());
  if (!verdict->unqualified_relations.empty()) {
    std::string names;
    for (const auto& n : verdict->unqualified_relations) names += (names.empty() ? "" : ", ") + n;
    std::printf("unqualified (resolved by search_path): %s\n", names.c_str());
  }
  return 0;
}

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  for (char c : text + ",") {
    if (c != ',') {
      if (c != ' ') item.push_back(c);
    } else if (!item.empty()) {
      out.push_back(item);
      item.clear();
    }
  }
  return out;
}

int role_sql(const Config& config, const std::vector<std::string>& args) {
  fleetmcp::ops::RoleSqlOptions options;
  options.schemas = config.readable_schemas;
  options.exclude_columns = config.redact_columns;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--role" && i + 1 < args.size()) {
      options.role = args[++i];
    } else if (args[i] == "--exclude-columns" && i + 1 < args.size()) {
      options.exclude_columns = split_names(args[++i]);
    } else if (args[i] == "--no-exclude-columns") {
      options.exclude_columns.clear();
    } else {
      return fail("role-sql: unknown option '" + args[i] + "'; see fleetmcp --help");
    }
  }
  for (auto& c : options.exclude_columns)
    for (auto& ch : c) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::fputs(fleetmcp::ops::role_sql(options).c_str(), stdout);
  return 0;
}

int token_new(const std::vector<std::string>& args) {
  if (args.size() != 3 || args[1] != "new") return fail("usage: fleetmcp token new NAME");
  const std::string& name = args[2];
  if (name.empty() || name.find_first_of(":, \t") != std::string::npos)
    return fail("token new: NAME must not be empty or contain ':', ',' or spaces");
  const std::string token = fleetmcp::ops::new_token();
  const char* current = std::getenv("MCP_AUTH_TOKENS");
  std::printf("token for %s: %s\n", name.c_str(), token.c_str());
  std::printf("MCP_AUTH_TOKENS=%s\n", fleetmcp::ops::tokens_with(current ? current : "", name, token).c_str());
  std::fprintf(stderr, "Set the line above where fleetmcp reads its environment and restart it; "
                       "hand the token to %s privately.\n", name.c_str());
  return 0;
}

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_help();
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  if (command == "version" || command == "--version") {
    std::printf("fleetmcp %s\n", fleetmcp::app::version());
    return 0;
  }
  if (command == "token") return token_new(args);
  if (command != "serve" && command != "stdio" && command != "check-sql" && command != "role-sql")
    return fail("unknown command '" + command + "'; see fleetmcp --help");

  std::string config_path;
  bool insecure_no_auth = false;
  const bool own_arguments = command == "check-sql" || command == "role-sql";
  for (std::size_t i = 1; i < args.size() && !own_arguments; ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      config_path = args[++i];
    } else if (args[i] == "--insecure-no-auth") {
      insecure_no_auth = true;
    } else if (args[i] == "--help" || args[i] == "-h") {
      print_help();
      return 0;
    } else {
      return fail("unknown option '" + args[i] + "'; see fleetmcp --help");
    }
  }

  std::map<std::string, std::string> file_values;
  if (!config_path.empty()) {
    auto read = fleetmcp::config::read_config_file(config_path);
    if (!read) return fail(read.error().message);
    file_values = std::move(*read);
  }
  auto loaded = fleetmcp::config::load(file_values, [](const std::string& name) {
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  });
  if (!loaded) return fail(loaded.error().message);
  Config config = std::move(*loaded);
  if (command == "check-sql") return check_sql(config, args);
  if (command == "role-sql") return role_sql(config, args);
  if (config.database_url.empty()) return fail("DATABASE_URL: must be set (the read-only role's connection string)");

  if (command == "stdio") {
    // The local process owner is the caller; no tokens on stdio.
    fleetmcp::app::App app(config, stderr);
    app.start_loop();
    fleetmcp::mcp::serve_stdio(app.io(), app.dispatcher(), stdin, stdout, config.max_body_bytes);
    app.stop();
    return 0;
  }

  if (config.auth_tokens.empty() && !insecure_no_auth)
    return fail("MCP_AUTH_TOKENS: no tokens configured; set name:token pairs, or pass "
                "--insecure-no-auth for a loopback-only trial");
  if (insecure_no_auth) {
    if (!is_loopback(config.host))
      return fail("--insecure-no-auth: refused with MCP_HOST=" + config.host + "; it binds loopback only");
    config.insecure_no_auth = true;
  }

  fleetmcp::app::App app(config, stdout);
  auto port = app.start_http();
  if (!port) return fail(port.error().message);
  std::fprintf(stderr, "fleetmcp %s listening on http://%s:%u/mcp (pool max %d, %d threads)\n",
               fleetmcp::app::version(), config.host.c_str(), *port, config.pool_max, config.threads);

  // Block the main thread until SIGINT/SIGTERM.
  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  signals.async_wait([](const boost::system::error_code&, int) {});
  signals_io.run();
  std::fprintf(stderr, "fleetmcp: shutting down\n");
  app.stop();
  return 0;
}
