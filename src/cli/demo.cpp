#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "cli/cli.hpp"
#include "ops/tokens.hpp"

namespace fleetmcp::cli {

using config::Config;

namespace {

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

}  // namespace

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
  const std::string token = ops::new_token();
  config.auth_tokens = {{"demo", token}};

  app::App app(config, stdout);
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

}  // namespace fleetmcp::cli
