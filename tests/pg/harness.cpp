#include "harness.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <fstream>
#include <sstream>
#include <thread>

namespace fleetmcp::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

const ClusterEnv& cluster() {
  static const ClusterEnv env = [] {
    const char* path = std::getenv("FLEETMCP_TEST_ENV");  // overrides the build's cluster
    return read_cluster_env(path ? path : FLEETMCP_TEST_ENV_FILE);
  }();
  return env;
}

namespace {
int run_harness(const std::string& args) {
  return std::system((std::string("bash ") + FLEETMCP_HARNESS + " " + args + " >/dev/null").c_str());
}
std::string own_dir(const char* kind) {
  static int n = 0;
  return "/tmp/fleetmcp-" + std::string(kind) + "-" + std::to_string(getpid()) + "-" + std::to_string(++n);
}
}  // namespace

OwnCluster::OwnCluster() : dir_(own_dir("own")) {
  if (run_harness("start " + dir_ + " " + FLEETMCP_FIXTURE) != 0)
    throw std::runtime_error("could not start a cluster in " + dir_);
  env_ = read_cluster_env(dir_ + "/env");
}

OwnCluster::OwnCluster(const OwnCluster& primary, bool) : dir_(own_dir("standby")) {
  if (run_harness("standby " + primary.dir_ + " " + dir_) != 0)
    throw std::runtime_error("could not start a standby in " + dir_);
  env_ = read_cluster_env(dir_ + "/env");
}

OwnCluster::~OwnCluster() { run_harness("stop " + dir_); }
void OwnCluster::restart() { run_harness("restart " + dir_); }
void OwnCluster::halt() { run_harness("halt " + dir_); }

ClusterEnv read_cluster_env(const std::string& path) {
  {
    ClusterEnv e;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      // export NAME='value'
      auto eq = line.find('=');
      if (line.rfind("export ", 0) != 0 || eq == std::string::npos) continue;
      std::string name = line.substr(7, eq - 7);
      std::string value = line.substr(eq + 2, line.size() - eq - 3);
      if (name == "FLEETMCP_TEST_ADMIN_URL") e.admin_url = value;
      if (name == "FLEETMCP_TEST_DATABASE_URL") e.database_url = value;
      if (name == "FLEETMCP_TEST_PGDATA") e.pgdata = value;
      if (name == "FLEETMCP_TEST_PGBIN") e.pgbin = value;
      if (name == "FLEETMCP_TEST_PORT") e.port = std::stoi(value);
      if (name == "FLEETMCP_TEST_POOLER") e.through_pooler = !value.empty();
    }
    if (e.database_url.empty()) throw std::runtime_error("no cluster described in " + path);
    return e;
  }
}

HttpResponse http_request(unsigned short port, const std::string& method, const std::string& target,
                          const std::string& body, const std::map<std::string, std::string>& headers) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(120));
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  // A POST is JSON unless the test says otherwise (the server refuses other media types).
  if (method == "POST") req.set(bhttp::field::content_type, "application/json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  bhttp::write(stream, req);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(256 << 20);
  bhttp::read(stream, buffer, parser);
  auto res = parser.release();
  HttpResponse out;
  out.status = res.result_int();
  for (const auto& f : res) {
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    out.headers[name] = std::string(f.value());
  }
  out.body = res.body();
  return out;
}

TestServer::TestServer(const std::function<void(config::Config&)>& adjust) {
  config::Config c;
  c.port = 0;
  c.threads = 2;
  c.database_url = cluster().database_url;
  c.auth_tokens = {{"tester", kToken}};
  // One analyst sends every call of most tests, many at once: the per-caller
  // limits are tested where a test sets them (policy_test.cpp).
  c.calls_per_minute = 1000000;
  c.concurrent_calls = 1000;
  c.connections_per_caller = 1000000;
  if (adjust) adjust(c);
  audit_file_ = std::tmpfile();
  app_ = std::make_unique<app::App>(c, audit_file_);
  auto port = app_->start_http();
  if (!port) throw std::runtime_error(port.error().message);
  port_ = *port;
  app_->start_catalog_refresh();
  // The catalog loads in the background; tests that count connections want it
  // done (bounded: some tests start with the database down).
  eventually([&] { return app_->catalog().current()->live; }, 5);
}

TestServer::~TestServer() {
  app_.reset();
  std::fclose(audit_file_);
}

HttpResponse TestServer::post(const json& message, std::map<std::string, std::string> headers) {
  headers.emplace("Authorization", std::string("Bearer ") + kToken);
  headers.emplace("Content-Type", "application/json");
  return http_request(port_, "POST", "/mcp", message.dump(), headers);
}

json TestServer::call_tool(const std::string& name, const json& arguments) {
  auto res = post({{"jsonrpc", "2.0"},
                   {"id", 1},
                   {"method", "tools/call"},
                   {"params", {{"name", name}, {"arguments", arguments}}}});
  EXPECT_EQ(res.status, 200) << res.body;
  json body = res.json_body();
  EXPECT_TRUE(body.contains("result")) << res.body;
  return body["result"];
}

std::string TestServer::audit_log() const {
  std::fflush(audit_file_);
  std::string out;
  std::rewind(audit_file_);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, audit_file_)) > 0;) out.append(buf, n);
  std::fseek(audit_file_, 0, SEEK_END);
  return out;
}

pid_t spawn_fleetmcp(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                     bool stdout_too, int& output) {
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 2);
    int null = open("/dev/null", O_WRONLY);
    dup2(stdout_too ? out[1] : null, 1);  // else the audit lines go nowhere
    close(out[0]);
    std::vector<std::string> vars = {"PATH=/usr/bin:/bin", "MCP_PORT=0",
                                     std::string("MCP_AUTH_TOKENS=tester:") + kToken};
    for (const auto& [k, v] : env) vars.push_back(k + "=" + v);
    // One analyst sends every call, many at once (as in TestServer).
    for (const char* unlimited :
         {"MCP_CALLS_PER_MINUTE=1000000", "MCP_CONCURRENT_CALLS=1000", "MCP_CONNECTIONS_PER_CALLER=1000000"})
      if (!env.count(std::string(unlimited).substr(0, std::string(unlimited).find('=')))) vars.push_back(unlimited);
    std::vector<char*> envp;
    for (auto& v : vars) envp.push_back(v.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_text = {FLEETMCP_BINARY};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    execve(FLEETMCP_BINARY, argv.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  output = out[0];
  return pid;
}

ServerProcess::ServerProcess(const std::map<std::string, std::string>& env) {
  int err = -1;
  pid_ = spawn_fleetmcp({"serve"}, env, false, err);
  // "fleetmcp X listening on http://HOST:PORT/mcp ..."
  std::string line;
  char c;
  while (read(err, &c, 1) == 1 && c != '\n') line.push_back(c);
  // Kept open: what the server logs after this line (the self-audit's table)
  // must not meet a closed pipe, whose SIGPIPE would end it.
  stderr_ = err;
  const auto colon = line.rfind(':', line.find("/mcp"));
  if (line.find("listening") == std::string::npos || colon == std::string::npos)
    throw std::runtime_error("fleetmcp did not start: " + line);
  port_ = static_cast<unsigned short>(std::stoi(line.substr(colon + 1)));
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status;
    waitpid(pid_, &status, 0);
  }
  if (stderr_ >= 0) close(stderr_);
}

long ServerProcess::peak_rss_kib() const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

json ServerProcess::call_tool(const std::string& name, const json& arguments) const {
  json message = {
      {"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"}, {"params", {{"name", name}, {"arguments", arguments}}}};
  auto res = http_request(port_, "POST", "/mcp", message.dump(),
                          {{"Authorization", std::string("Bearer ") + kToken}, {"Content-Type", "application/json"}});
  if (res.status != 200) throw std::runtime_error("HTTP " + std::to_string(res.status) + ": " + res.body);
  return res.json_body()["result"];
}

Admin::Admin(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string message = std::string("admin connection: ") + PQerrorMessage(conn_);
    PQfinish(conn_);
    throw std::runtime_error(message);
  }
}

Admin::~Admin() { PQfinish(conn_); }

std::string Admin::scalar(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  std::string out;
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    std::string err = PQresultErrorMessage(r);
    PQclear(r);
    throw std::runtime_error("admin query failed: " + err);
  }
  if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) out = PQgetvalue(r, 0, 0);
  PQclear(r);
  return out;
}

void Admin::exec(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  const auto status = PQresultStatus(r);
  std::string err = PQresultErrorMessage(r);
  PQclear(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw std::runtime_error("admin command failed: " + err);
}

// (Inside an aggregate, ORDER BY 1 sorts by the constant 1: name the columns.)
std::string database_digest(Admin& admin, const std::string& tag) {
  std::string out;
  const std::string tables = admin.scalar(
      "SELECT string_agg(format('%I.%I', n.nspname, c.relname), ' ' ORDER BY n.nspname, c.relname) FROM pg_class c "
      "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm') "
      "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')");
  std::istringstream names(tables);
  for (std::string t; names >> t;)
    out += t + "=" +
           admin.scalar("SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM " +
                        t + " x") +
           "\n";
  out += "seq " +
         admin.scalar(
             "SELECT string_agg(format('%s.%s=%s', schemaname, sequencename, last_value), ',' ORDER BY schemaname, "
             "sequencename) FROM pg_sequences") +
         "\n";
  // Throwaway roles that other tests (run in parallel on the same cluster)
  // create and drop are not this server's doing.
  const std::string others = "rolname ~ '^(fleet_cols|fleetmcp_audit)_'";
  out += "roles " +
         admin.scalar(
             "SELECT string_agg(format('%s:%s:%s:%s', rolname, rolsuper, rolcanlogin, rolconfig), ',' ORDER BY "
             "rolname) FROM pg_roles WHERE NOT " +
             others) +
         "\n";
  out += "settings " +
         admin.scalar(
             "SELECT string_agg(format('%s:%s:%s', setdatabase, setrole, setconfig), ',' ORDER BY setdatabase, "
             "setrole) FROM pg_db_role_setting WHERE setrole NOT IN (SELECT oid FROM pg_roles WHERE " +
             others + ")") +
         "\n";
  out += "catalog " +
         admin.scalar(
             "SELECT (SELECT count(*) FROM pg_class) || '/' || (SELECT count(*) FROM pg_proc) || '/' || (SELECT "
             "count(*) FROM pg_namespace)") +
         "\n";
  out += "advisory " +
         admin.scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'" +
                      (tag.empty() ? std::string()
                                   : " AND pid IN (SELECT pid FROM pg_stat_activity WHERE " + of_server(tag) + ")")) +
         "\n";
  out += "large objects " + admin.scalar("SELECT count(*) FROM pg_largeobject_metadata") + "\n";
  return out;
}

bool eventually(const std::function<bool()>& check, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return check();
}

}  // namespace fleetmcp::testing
