// fleetmcp: wiring only. Parses the command line, loads the configuration and
// runs the chosen subcommand.
#include <pthread.h>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include "app/app.hpp"
#include "doctor/audit.hpp"
#include "json/bounded.hpp"
#include "mcp/stdio.hpp"
#include "ops/role_sql.hpp"
#include "ops/tokens.hpp"
#include "policy/policy.hpp"
#include "sql/guard.hpp"
#include "tools/tool.hpp"

namespace {

using fleetmcp::config::Config;

void print_help() {
  std::printf(
      "fleetmcp %s — a read-only PostgreSQL gateway for MCP clients\n\n"
      "Usage:\n"
      "  fleetmcp serve [--config FILE] [--insecure-no-auth] [--conformance-fixtures]\n"
      "                      serve MCP over Streamable HTTP on MCP_HOST:MCP_PORT\n"
      "                      (POST /mcp; GET /healthz, GET /readyz; with MCP_ENABLED=true\n"
      "                      also the WebSocket record API on /mcp/ws, see docs/WEBSOCKET.md)\n"
      "  fleetmcp stdio [--config FILE]\n"
      "                      serve MCP over stdin/stdout (newline-delimited JSON-RPC)\n"
      "  fleetmcp demo [--dir DIR] [--scale S]\n"
      "                      start (or reuse) a private PostgreSQL filled with a synthetic fleet\n"
      "                      (from a source checkout) whose 30 days end yesterday in Africa/Nairobi\n"
      "                      (a copy from an earlier day is moved forward), and serve it on\n"
      "                      MCP_HOST:MCP_PORT with a fresh token until Ctrl-C (MCP_TIMEZONE\n"
      "                      defaults to Africa/Nairobi); DIR defaults to ~/.cache/fleetmcp/demo\n"
      "  fleetmcp check-sql [--config FILE] [SQL | - | --jsonl]\n"
      "                      print the guard's verdict on SQL (argument or stdin): rule,\n"
      "                      statement, normalized form, fingerprint; exit 0 allowed, 1 rejected.\n"
      "                      With DATABASE_URL, functions are judged by the live catalog as the\n"
      "                      role sees it (as the server does); without, by PostgreSQL 15's.\n"
      "                      --jsonl: {\"sql\": ...} per stdin line, one verdict object per line\n"
      "  fleetmcp role-sql [--config FILE] [--role NAME] [--exclude-columns a,b | --whole-table-grants]\n"
      "                      print the read-only role's DDL for MCP_READABLE_SCHEMAS; tables with\n"
      "                      excluded columns (default MCP_REDACT_COLUMNS) get column-level grants;\n"
      "                      --whole-table-grants makes sensitive columns readable (warns)\n"
      "  fleetmcp doctor [--config FILE]\n"
      "                      audit what the DATABASE_URL role can do and print the findings; exit 0\n"
      "                      none, 1 any finding, 2 bad configuration or database unreachable\n"
      "  fleetmcp token new NAME [--config FILE [--write]]\n"
      "                      print a new token for NAME and the whole MCP_AUTH_TOKENS line with it\n"
      "                      and everyone else's (from the environment, else FILE; without either,\n"
      "                      only the entry to add); --write puts the line into FILE instead\n"
      "  fleetmcp version    print the version\n"
      "  fleetmcp --help     this text\n\n"
      "Options:\n"
      "  --config FILE       KEY=VALUE lines with the settings below; the environment wins\n"
      "                      (every command takes it)\n"
      "  --insecure-no-auth  serve without bearer tokens (loopback only; for local trials)\n"
      "  --conformance-fixtures\n"
      "                      tests only: also serve the MCP conformance suite's fixture tools,\n"
      "                      resources and prompts (refused unless MCP_HOST is loopback)\n\n"
      "Settings (environment variables):\n",
      fleetmcp::app::version());
  for (const auto& s : fleetmcp::config::settings())
    std::printf("  %-26s %s (default: %s)\n", s.name, s.help, s.default_text.c_str());
  std::printf(
      "\nEvery tool call runs as BEGIN READ ONLY ... ROLLBACK; the SQL guard accepts one SELECT.\n"
      "serve, stdio and demo audit the role first (as doctor does) and refuse one that can write\n"
      "or administer the database, with exit code 2, unless MCP_ALLOW_UNSAFE_ROLE=true.\n"
      "Audit: one JSON line per tool call on stdout (serve) or stderr (stdio).\n");
}

int fail(const std::string& message) {
  std::fprintf(stderr, "fleetmcp: %s\n", message.c_str());
  return 2;
}

bool write_all(int fd, const std::string& data) {
  for (std::size_t done = 0; done < data.size();) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// check-sql --jsonl: one {"sql": ...} per input line, one verdict object per
// output line; for corpora (one catalog load for all of them).
int check_sql_lines(const fleetmcp::sql::Policy& policy) {
  using nlohmann::json;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json in = fleetmcp::json::parse_bounded(line).value;
    if (!in.is_object() || !in.contains("sql") || !in["sql"].is_string()) {
      std::printf("%s\n",
                  json{{"verdict", "error"}, {"message", "each line must be {\"sql\": \"...\"}"}}.dump().c_str());
      continue;
    }
    auto verdict = fleetmcp::sql::validate(in["sql"].get<std::string>(), policy);
    json out = verdict
                   ? json{{"verdict", "allow"}}
                   : json{{"verdict", "reject"}, {"rule", verdict.error().rule}, {"message", verdict.error().message}};
    std::printf("%s\n", out.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
  }
  return 0;
}

// check-sql: the guard's verdict for operators, with the policy the server would use.
int check_sql(const Config& config, const std::vector<std::string>& args) {
  std::string sql;
  if (args.size() > 2) return fail("check-sql takes one SQL argument (or - / nothing for stdin, or --jsonl)");
  const bool jsonl = args.size() == 2 && args[1] == "--jsonl";
  if (args.size() == 2 && args[1] != "-" && !jsonl) {
    sql = args[1];
  } else if (!jsonl) {
    sql.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  // With DATABASE_URL, calls are judged by the live catalog as the role sees
  // it, exactly as the server would; without, by PostgreSQL 15's built-ins.
  std::unique_ptr<fleetmcp::app::App> app;
  if (!config.database_url.empty()) {
    app = std::make_unique<fleetmcp::app::App>(config, stderr);
    app->start_loop();
    app->start_catalog_refresh();
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(config.connect_timeout_ms + config.statement_timeout_ms);
    while (!app->catalog().current()->live && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!app->catalog().current()->live)
      return fail(
          "check-sql: the catalog could not be loaded from DATABASE_URL (see above); unset "
          "DATABASE_URL to judge with PostgreSQL 15's built-in catalog only");
  }
  const auto policy = fleetmcp::sql::policy_from(config, app ? &app->catalog() : nullptr);
  if (jsonl) return check_sql_lines(policy);
  auto verdict = fleetmcp::sql::validate(sql, policy);
  std::printf("catalog: %s\n", app ? "live (DATABASE_URL, as the role sees it)"
                                   : "offline (PostgreSQL 15's pg_catalog; set DATABASE_URL for the live one)");
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
  for (const auto& note : verdict->notes) std::printf("note: %s\n", note.c_str());
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
    } else if (args[i] == "--whole-table-grants") {
      options.whole_table_grants = true;
    } else {
      return fail("role-sql: unknown option '" + args[i] + "'; see fleetmcp --help");
    }
  }
  for (auto& c : options.exclude_columns)
    for (auto& ch : c) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (options.exclude_columns.empty() && !options.whole_table_grants)
    return fail(
        "role-sql: no sensitive columns to keep out (MCP_REDACT_COLUMNS or --exclude-columns is "
        "empty); pass --whole-table-grants to grant whole tables on purpose");
  if (options.whole_table_grants)
    std::fputs(
        "fleetmcp: WARNING: --whole-table-grants: the role will read every sensitive column "
        "(password_hash, api_key, ...), also through whole-row references such as row_to_json(t); "
        "without the flag, tables with such columns get column-level grants\n",
        stderr);
  std::fputs(fleetmcp::ops::role_sql(options).c_str(), stdout);
  return 0;
}

// token new: a token for NAME and the whole MCP_AUTH_TOKENS list with it, read
// from the environment, else from --config FILE. A list it cannot see is never
// printed as a one-entry line: pasted, that would revoke everyone else.
int token_new(const std::vector<std::string>& args, const std::string& config_path) {
  bool write = false;
  std::vector<std::string> rest;
  for (const auto& a : args) {
    if (a == "--write")
      write = true;
    else
      rest.push_back(a);
  }
  if (rest.size() != 3 || rest[1] != "new") return fail("usage: fleetmcp token new NAME [--config FILE [--write]]");
  const std::string& name = rest[2];
  if (name.empty() || name.find_first_of(":, \t") != std::string::npos)
    return fail("token new: NAME must not be empty or contain ':', ',' or spaces");
  if (write && config_path.empty()) return fail("token new: --write edits the file named by --config FILE");
  std::optional<std::string> current;
  if (!config_path.empty()) {
    auto values = fleetmcp::config::read_config_file(config_path);
    if (!values) return fail(values.error().message);
    if (auto it = values->find("MCP_AUTH_TOKENS"); it != values->end())
      current = it->second;
    else
      current = "";  // the file is the whole configuration: no tokens yet
  }
  const char* environment = std::getenv("MCP_AUTH_TOKENS");
  if (environment && !write) current = environment;  // as for serve: the environment wins
  if (environment && write)
    std::fputs("fleetmcp: note: MCP_AUTH_TOKENS is also set in the environment, which wins over the file\n", stderr);

  const std::string token = fleetmcp::ops::new_token();
  std::printf("token for %s: %s\n", name.c_str(), token.c_str());
  if (!current) {
    std::printf("entry: %s:%s\n", name.c_str(), token.c_str());
    std::fprintf(stderr,
                 "Add the entry to MCP_AUTH_TOKENS beside the others (comma-separated; an entry for %s "
                 "replaces the old one) and restart fleetmcp. With --config FILE (or MCP_AUTH_TOKENS set) "
                 "this prints the whole line; --write edits the file.\n",
                 name.c_str());
    return 0;
  }
  const std::string line = fleetmcp::ops::tokens_with(*current, name, token);
  if (!write) {
    std::printf("MCP_AUTH_TOKENS=%s\n", line.c_str());
    std::fprintf(stderr,
                 "Set the line above where fleetmcp reads its environment and restart it; "
                 "hand the token to %s privately.\n",
                 name.c_str());
    return 0;
  }
  // The file is replaced whole (a temporary beside it, renamed over it) with its mode kept.
  std::ifstream in(config_path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  struct stat st {};
  if (!in || stat(config_path.c_str(), &st) != 0) return fail("token new: cannot read " + config_path);
  std::string temporary = config_path + ".XXXXXX";
  const int fd = mkstemp(temporary.data());
  if (fd < 0) return fail("token new: cannot write beside " + config_path + ": " + std::strerror(errno));
  const std::string updated = fleetmcp::ops::with_setting(text, "MCP_AUTH_TOKENS", line);
  const bool written = fchmod(fd, st.st_mode & 07777) == 0 && fchown(fd, st.st_uid, st.st_gid) == 0 &&
                       write_all(fd, updated) && fsync(fd) == 0;
  close(fd);
  if (!written || rename(temporary.c_str(), config_path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    unlink(temporary.c_str());
    return fail("token new: cannot update " + config_path + ": " + reason);
  }
  std::fprintf(stderr,
               "Wrote MCP_AUTH_TOKENS (%s and the others) to %s; restart fleetmcp, then hand the token "
               "to %s privately.\n",
               name.c_str(), config_path.c_str(), name.c_str());
  return 0;
}

// doctor: the self-audit for an operator or a deploy pipeline.
int doctor(const Config& config) {
  auto report = fleetmcp::doctor::audit_once(config);
  if (!report) return fail("doctor: " + report.error().message);
  std::fputs(fleetmcp::doctor::render_table(*report).c_str(), stdout);
  return report->findings.empty() ? 0 : 1;
}

// The self-audit before serving. Returns false when an unsafe role must be
// refused (printed here with the table; the caller exits 2); otherwise `notes`
// gets the table for stderr, which serve prints after its "listening" line
// (scripts read the port from the first line). An unreachable database is not
// a refusal: the server starts, and the first plan audits (doctor::Gate),
// refusing tool calls then if it must.
bool audit_at_start(fleetmcp::app::App& app, std::string& notes) {
  auto report = app.self_audit();
  // A setting PostgreSQL refuses at every connection (MCP_TIMEZONE) stops the start.
  if (!report && report.error().kind == fleetmcp::core::ErrorKind::BadRequest) {
    fail(report.error().message);
    return false;
  }
  if (!report) {
    notes = "fleetmcp: self-audit postponed until the database answers: " + report.error().message + "\n";
    app.start_catalog_refresh();
    return true;
  }
  notes = fleetmcp::doctor::render_table(*report);
  if (report->unsafe() && !app.config().allow_unsafe_role) {
    std::fputs(notes.c_str(), stderr);
    fail("refused: " + fleetmcp::doctor::refusal_message(*report));
    return false;
  }
  if (report->unsafe())
    notes +=
        "fleetmcp: WARNING: serving an unsafe role because MCP_ALLOW_UNSAFE_ROLE=true; "
        "/readyz and the MCP instructions carry the findings\n";
  app.start_catalog_refresh();
  return true;
}

// Blocks until SIGINT or SIGTERM.
void wait_for_stop_signal() {
  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  signals.async_wait([](const boost::system::error_code&, int) {});
  signals_io.run();
}

std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Where the demo's cluster launcher and dataset are: share/fleetmcp beside an
// installed binary (/usr/bin/fleetmcp -> /usr/share/fleetmcp), else the checkout
// the binary was built from (build/release/fleetmcp). Both hold scripts/ and data/.
std::string demo_files() {
  std::string exe(4096, '\0');
  const ssize_t n = readlink("/proc/self/exe", exe.data(), exe.size());
  if (n > 0 && static_cast<std::size_t>(n) < exe.size()) {
    exe.resize(static_cast<std::size_t>(n));
    if (char* real = realpath((exe.substr(0, exe.rfind('/') + 1) + FLEETMCP_DATA_FROM_BIN).c_str(), nullptr)) {
      const std::string installed = real;
      std::free(real);
      if (access((installed + "/scripts/pg_cluster.sh").c_str(), R_OK) == 0) return installed;
    }
  }
  return FLEETMCP_SOURCE_DIR;
}

// demo: the same cluster launcher the tests use starts (or reuses) a private
// PostgreSQL with the synthetic fleet; fleetmcp serves it with a fresh token.
int demo(Config config, const std::vector<std::string>& args) {
  const std::string files = demo_files();
  const std::string launcher = files + "/scripts/pg_cluster.sh";
  std::string dir, scale = "1";
  if (const char* cache = std::getenv("XDG_CACHE_HOME"); cache && *cache)
    dir = std::string(cache) + "/fleetmcp/demo";
  else if (const char* home = std::getenv("HOME"); home && *home)
    dir = std::string(home) + "/.cache/fleetmcp/demo";
  // The cluster runs as the unprivileged 'postgres' user, who cannot enter /root.
  if (geteuid() == 0 && (dir.empty() || dir.rfind("/root", 0) == 0)) dir = "/var/tmp/fleetmcp-demo";
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--dir" && i + 1 < args.size())
      dir = args[++i];
    else if (args[i] == "--scale" && i + 1 < args.size())
      scale = args[++i];
    else
      return fail("demo: unknown option '" + args[i] + "'; see fleetmcp --help");
  }
  if (scale.empty() || scale.find_first_not_of("0123456789.") != std::string::npos)
    return fail("demo: --scale must be a number such as 1 or 0.1");
  if (access(launcher.c_str(), R_OK) != 0)
    return fail("demo: its cluster launcher is missing (" + launcher +
                "): install the package, or run the binary built in a checkout");

  const bool first_run = access((dir + "/env").c_str(), R_OK) != 0;
  std::printf("Starting the demo database in %s ...\n", dir.c_str());
  if (first_run)
    std::printf(
        "First run: generating the fleet dataset (%s/data/fleet_demo.sql) inside PostgreSQL "
        "(about a minute) ...\n",
        files.c_str());
  std::fflush(stdout);
  const std::string start = "PG_CLUSTER_PROGRESS=1 PG_CLUSTER_FIXTURE_ARGS=" + shell_quoted("-v scale=" + scale) +
                            " bash " + shell_quoted(launcher) + " start " + shell_quoted(dir) + " " +
                            shell_quoted(files + "/data/fleet_demo.sql");
  if (std::system(start.c_str()) != 0) return fail("demo: the database did not start (see " + dir + "/server.log)");
  const std::string halt = "bash " + shell_quoted(launcher) + " halt " + shell_quoted(dir);
  // A cached fleet from an earlier day is moved forward to end yesterday (a no-op when current).
  // (The superuser's password goes through the environment, not psql's command line.)
  const std::string shift =
      "bash -c 'source \"$1/env\" && pw=${FLEETMCP_TEST_ADMIN_URL#*://postgres:} && export PGPASSWORD=${pw%%@*} && "
      "exec psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p \"$FLEETMCP_TEST_PORT\" -U postgres -d tracksolid_db "
      "-f \"$2\"' _ " +
      shell_quoted(dir) + " " + shell_quoted(files + "/data/fleet_demo_shift.sql");
  if (std::system(shift.c_str()) != 0) {
    std::system(halt.c_str());
    return fail("demo: moving the cached fleet to the current dates failed (see above); delete " + dir +
                " to generate it afresh");
  }
  // The fleet's days are Africa/Nairobi's: so are "today" and "last week" (unless set otherwise).
  if (config.timezone.empty()) config.timezone = "Africa/Nairobi";

  std::ifstream env(dir + "/env");
  for (std::string line; std::getline(env, line);) {
    const std::string key = "export FLEETMCP_TEST_DATABASE_URL='";
    if (line.rfind(key, 0) == 0) config.database_url = line.substr(key.size(), line.size() - key.size() - 1);
  }
  if (config.database_url.empty()) {
    std::system(halt.c_str());
    return fail("demo: " + dir + "/env names no database");
  }
  const std::string token = fleetmcp::ops::new_token();
  config.auth_tokens = {{"demo", token}};

  fleetmcp::app::App app(config, stdout);
  auto port = app.start_http();
  if (!port) {
    std::system(halt.c_str());
    return fail(port.error().message);
  }
  std::string audit_notes;
  if (!audit_at_start(app, audit_notes)) {
    app.stop();
    std::system(halt.c_str());
    return 2;
  }
  std::fputs(audit_notes.c_str(), stderr);
  const std::string url = "http://" + config.host + ":" + std::to_string(*port) + "/mcp";
  std::printf(
      "\nfleetmcp is serving the demo fleet on %s\n  token:    %s\n\n"
      "Add it to Claude Code:\n"
      "  claude mcp add --transport http fleet %s --header \"Authorization: Bearer %s\"\n\n"
      "Then ask, for example:\n"
      "  - Which cost centres drove the most kilometres last week, and which vehicles led them?\n"
      "  - Which open incidents have breached their SLA, by region?\n"
      "  - Which vehicles used the most fuel per 100 km over the last four weeks?\n\n"
      "Ctrl-C stops the server and the database (the data stays for the next run).\n\n",
      url.c_str(), token.c_str(), url.c_str(), token.c_str());
  if (config.ws_enabled)
    std::printf("Record API (docs/WEBSOCKET.md): ws://%s:%u/mcp/ws with the header X-MCP-Token: %s\n\n",
                config.host.c_str(), *port, token.c_str());
  std::fflush(stdout);
  wait_for_stop_signal();
  std::fprintf(stderr, "fleetmcp: stopping the server and the demo database\n");
  app.stop();
  return std::system(halt.c_str()) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Every thread gets 16 MB of stack (reserved, touched only as used): the
  // SQL guard's bound on a statement (64 KiB) needs about 4 MB at worst, and
  // a smaller RLIMIT_STACK must not make that a crash.
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) == 0) {
    pthread_attr_setstacksize(&attr, 16 << 20);
    pthread_setattr_default_np(&attr);
    pthread_attr_destroy(&attr);
  }
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
  if (command != "serve" && command != "stdio" && command != "check-sql" && command != "role-sql" &&
      command != "demo" && command != "doctor" && command != "token")
    return fail("unknown command '" + command + "'; see fleetmcp --help");
  // --config FILE, which every command takes, is taken out here: each command
  // parses what is left.
  std::string config_path;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] != "--config") continue;
    if (i + 1 == args.size()) return fail("--config needs a FILE");
    config_path = args[i + 1];
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(i), args.begin() + static_cast<std::ptrdiff_t>(i) + 2);
    --i;
  }
  if (command == "token") return token_new(args, config_path);

  bool insecure_no_auth = false, conformance_fixtures = false;
  const bool own_arguments = command == "check-sql" || command == "role-sql" || command == "demo";
  for (std::size_t i = 1; i < args.size() && !own_arguments; ++i) {
    if (args[i] == "--insecure-no-auth") {
      insecure_no_auth = true;
    } else if (args[i] == "--conformance-fixtures") {
      conformance_fixtures = true;
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
  if (!config.policy_file.empty())
    if (auto book = fleetmcp::policy::Book::load(config.policy_file, config); !book) return fail(book.error().message);
  if (command == "check-sql") return check_sql(config, args);
  if (command == "role-sql") return role_sql(config, args);
  if (command == "demo") return demo(std::move(config), args);
  if (config.database_url.empty()) return fail("DATABASE_URL: must be set (the read-only role's connection string)");
  if (command == "doctor") {
    if (insecure_no_auth || conformance_fixtures) return fail("doctor takes only --config FILE");
    return doctor(config);
  }
  if (conformance_fixtures) {
    if (command == "serve" && !fleetmcp::config::is_loopback_host(config.host))
      return fail("--conformance-fixtures: refused with MCP_HOST=" + config.host + "; it is for loopback test servers");
    config.conformance_fixtures = true;
  }

  if (command == "stdio") {
    // The local process owner is the caller; no tokens on stdio.
    fleetmcp::app::App app(config, stderr);
    app.start_loop();
    std::string audit_notes;
    if (!audit_at_start(app, audit_notes)) {
      app.stop();
      return 2;
    }
    std::fputs(audit_notes.c_str(), stderr);
    fleetmcp::mcp::serve_stdio(app.io(), app.dispatcher(), stdin, stdout, config.max_body_bytes);
    app.stop();
    return 0;
  }

  // The record API never serves without a token, --insecure-no-auth or not.
  if (config.ws_enabled && config.ws_token.empty() && config.auth_tokens.empty())
    return fail("MCP_ENABLED: true needs a token for /mcp/ws; set MCP_TOKEN or MCP_AUTH_TOKENS");
  const bool record_api_only = config.auth_tokens.empty() && !config.oauth.enabled() && config.ws_enabled;
  if (config.auth_tokens.empty() && !config.oauth.enabled() && !insecure_no_auth && !record_api_only)
    return fail(
        "MCP_AUTH_TOKENS: no tokens configured; set name:token pairs or MCP_OAUTH_ISSUERS, or pass "
        "--insecure-no-auth for a loopback-only trial");
  if (insecure_no_auth) {
    if (!fleetmcp::config::is_loopback_host(config.host))
      return fail("--insecure-no-auth: refused with MCP_HOST=" + config.host + "; it binds loopback only");
    config.insecure_no_auth = true;
  }

  fleetmcp::app::App app(config, stdout);
  // Listening first, so /healthz answers during a slow audit; plans wait for
  // the gate's verdict, and a refused role exits before the "listening" line.
  auto port = app.start_http();
  if (!port) return fail(port.error().message);
  std::string audit_notes;
  if (!audit_at_start(app, audit_notes)) {
    app.stop();
    return 2;
  }
  if (record_api_only && !insecure_no_auth)
    std::fprintf(stderr,
                 "fleetmcp: MCP_AUTH_TOKENS is empty, so POST /mcp refuses every request; "
                 "only /mcp/ws (MCP_TOKEN) is served\n");
  // One line: tests and scripts read the port from it.
  const std::string record_api =
      config.ws_enabled ? "; record API on ws://" + config.host + ":" + std::to_string(*port) + "/mcp/ws" : "";
  std::fprintf(stderr, "fleetmcp %s listening on http://%s:%u/mcp (pool max %d, %d threads)%s\n",
               fleetmcp::app::version(), config.host.c_str(), *port, config.pool_max, config.threads,
               record_api.c_str());
  std::fputs(audit_notes.c_str(), stderr);
  std::fflush(stderr);

  wait_for_stop_signal();
  std::fprintf(stderr, "fleetmcp: shutting down\n");
  app.stop();
  return 0;
}
