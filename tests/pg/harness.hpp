// Shared by the integration tests: the harness cluster's coordinates, an
// in-process fleetmcp on a free port, a blocking HTTP client and an admin
// connection for looking at the database from the side.
#pragma once

#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "app/app.hpp"

namespace fleetmcp::testing {

using nlohmann::json;

struct ClusterEnv {
  std::string admin_url;     // superuser
  std::string database_url;  // the read-only role
  std::string pgdata, pgbin;
  int port = 0;
  // Set when database_url goes through a transaction pooler: PostgreSQL's
  // backends are then the pooler's, not fleetmcp's.
  bool through_pooler = false;
};
// Read from the file the harness wrote (FLEETMCP_TEST_ENV).
const ClusterEnv& cluster();
// An application_name for one test's server. The direct and the PgBouncer
// runs of a test share the cluster, and may run at once: their tags differ.
inline std::string test_tag(const std::string& name) { return cluster().through_pooler ? name + "-pooled" : name; }
ClusterEnv read_cluster_env(const std::string& path);

// A cluster of the test's own, for faults that would disturb other tests
// (restarts, standbys). Started from the same fixture; stopped and removed
// when it goes out of scope.
class OwnCluster {
 public:
  OwnCluster();
  // A streaming standby of `primary` (pg_basebackup -R).
  explicit OwnCluster(const OwnCluster& primary, bool standby);
  ~OwnCluster();
  const ClusterEnv& env() const { return env_; }
  void restart();  // pg_ctl restart -m fast
  void halt();     // pg_ctl stop -m fast

 private:
  std::string dir_;
  ClusterEnv env_;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  json json_body() const { return json::parse(body); }
};

HttpResponse http_request(unsigned short port, const std::string& method, const std::string& target,
                          const std::string& body = {}, const std::map<std::string, std::string>& headers = {});

inline constexpr const char* kToken = "integration-token-1";

// initialize as a client of a legacy revision opens (the answer carries the
// instructions).
inline json initialize_request(const std::string& version = "2025-06-18", int id = 1) {
  return {{"jsonrpc", "2.0"},
          {"id", id},
          {"method", "initialize"},
          {"params",
           {{"protocolVersion", version},
            {"capabilities", json::object()},
            {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}};
}

class TestServer {
 public:
  // `adjust` edits the configuration before start (pool size, timeouts, ...).
  explicit TestServer(const std::function<void(config::Config&)>& adjust = {});
  ~TestServer();

  unsigned short port() const { return port_; }
  app::App& app() { return *app_; }

  // POST /mcp with the test token; legacy era unless headers say otherwise.
  HttpResponse post(const json& message, std::map<std::string, std::string> headers = {});
  // tools/call in the legacy era; returns the JSON-RPC result object.
  json call_tool(const std::string& name, const json& arguments);
  std::string audit_log() const;  // everything audited so far

 private:
  std::FILE* audit_file_;
  std::unique_ptr<app::App> app_;
  unsigned short port_ = 0;
};

// The real binary as a child process (`fleetmcp serve` on a free port), for
// what only a separate process shows: its memory, its exit.
// Starts the fleetmcp binary with `args` and a clean environment (PATH, port
// 0, the test token, then `env`); returns its pid and, in `output`, the read
// end of a pipe with its stderr (and its stdout with `stdout_too`; otherwise
// stdout goes to /dev/null).
pid_t spawn_fleetmcp(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                     bool stdout_too, int& output);

class ServerProcess {
 public:
  explicit ServerProcess(const std::map<std::string, std::string>& env);
  ~ServerProcess();
  unsigned short port() const { return port_; }
  pid_t pid() const { return pid_; }
  long peak_rss_kib() const;  // VmHWM
  json call_tool(const std::string& name, const json& arguments) const;

 private:
  pid_t pid_ = -1;
  unsigned short port_ = 0;
  int stderr_ = -1;  // the server's stderr, unread after the first line
};

// The real binary with `args`, its stderr (and with `capture_stdout`, stdout)
// read until `until` shows up, it exits, or 60 s pass.
class Child {
 public:
  Child(const std::vector<std::string>& args, std::map<std::string, std::string> env, bool capture_stdout = false) {
    env.emplace("MCP_THREADS", "2");
    pid_ = spawn_fleetmcp(args, env, capture_stdout, fd_);
  }
  ~Child() {
    if (pid_ > 0 && exit_code_ < 0) {
      kill(pid_, SIGTERM);
      int status;
      waitpid(pid_, &status, 0);
    }
    close(fd_);
  }

  // Reads output until it contains `until` (true) or the output ends (false).
  bool read_until(const std::string& until) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (output_.find(until) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      char buf[4096];
      const ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return false;
      output_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  // Reads to the end and returns the exit code.
  int wait_exit() {
    read_until(std::string(1, '\0'));  // never printed: reads until the pipe closes
    int status = 0;
    waitpid(pid_, &status, 0);
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_code_;
  }
  const std::string& output() const { return output_; }
  unsigned short port() const {
    const auto listening = output_.find("listening on http://");
    const auto colon = output_.rfind(':', output_.find("/mcp", listening));
    return static_cast<unsigned short>(std::stoi(output_.substr(colon + 1)));
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int exit_code_ = -1;
  std::string output_;
};

// A blocking superuser connection for setting up and inspecting.
class Admin {
 public:
  explicit Admin(const std::string& url = cluster().admin_url);
  ~Admin();
  std::string scalar(const std::string& sql);  // first column of the first row, "" for NULL
  void exec(const std::string& sql);

 private:
  PGconn* conn_;
};

// A digest of the database as the superuser sees it: every table's rows,
// sequences, roles, settings, catalog sizes, advisory locks, large objects.
// Equal before and after means nothing was written.
// With `tag`, advisory locks count only on that server's backends: tests
// running in parallel on the same cluster take and release their own.
std::string database_digest(Admin& admin, const std::string& tag = "");

// A test server's backends are told apart by their application_name.
inline std::string tagged_url(const std::string& tag) { return cluster().database_url + "?application_name=" + tag; }
// The condition on pg_stat_activity for them: the analyst of the call, or
// of the last one while idle, follows the tag ("tag:tester").
inline std::string of_server(const std::string& tag) {
  return "(application_name = '" + tag + "' OR application_name LIKE '" + tag + ":%')";
}
// Backends of the server tagged `tag`; with `state`, only those in it ("active").
inline int backends(Admin& admin, const std::string& tag, const std::string& state = "") {
  std::string sql = "SELECT count(*) FROM pg_stat_activity WHERE " + of_server(tag);
  if (!state.empty()) sql += " AND state = '" + state + "'";
  return std::stoi(admin.scalar(sql));
}

// Whether a query tool call of the server tagged `tag` runs in PostgreSQL now:
// its cursor's FETCH is active (the catalog load also holds a connection a
// moment, so a busy connection alone proves nothing).
inline bool query_running(Admin& admin, const std::string& tag) {
  return admin.scalar("SELECT count(*) FROM pg_stat_activity WHERE " + of_server(tag) +
                      " AND state = 'active' AND query LIKE 'FETCH%'") != "0";
}

// Polls `check` until true or `seconds` pass; tests never assume a fast machine.
bool eventually(const std::function<bool()>& check, double seconds = 20);

}  // namespace fleetmcp::testing
