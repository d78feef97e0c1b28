#include <boost/asio/signal_set.hpp>
#include <cstdio>

#include "cli/cli.hpp"
#include "doctor/audit.hpp"
#include "mcp/stdio.hpp"

namespace fleetmcp::cli {

using config::Config;

// doctor: the self-audit for an operator or a deploy pipeline.
int doctor(const Config& config) {
  auto report = fleetmcp::doctor::audit_once(config);
  if (!report) return fail("doctor: " + report.error().message);
  std::fputs(fleetmcp::doctor::render_table(*report).c_str(), stdout);
  return report->findings.empty() ? 0 : 1;
}

// An unreachable database is not a refusal: the server starts, and the first
// plan audits (doctor::Gate), refusing tool calls then if it must.
bool audit_at_start(app::App& app, std::string& notes) {
  auto report = app.self_audit();
  // A setting PostgreSQL refuses at every connection (MCP_TIMEZONE) stops the start.
  if (!report && report.error().kind == core::ErrorKind::BadRequest) {
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

void wait_for_stop_signal() {
  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  signals.async_wait([](const boost::system::error_code&, int) {});
  signals_io.run();
}

// The local process owner is the caller; no tokens on stdio.
int stdio(Config config) {
  app::App app(config, stderr);
  app.start_loop();
  std::string audit_notes;
  if (!audit_at_start(app, audit_notes)) {
    app.stop();
    return 2;
  }
  std::fputs(audit_notes.c_str(), stderr);
  mcp::serve_stdio(app.io(), app.dispatcher(), stdin, stdout, config.max_body_bytes);
  app.stop();
  return 0;
}

int serve(Config config) {
  app::App app(config, stdout);
  // Listening first, so /healthz answers during a slow audit; plans wait for
  // the gate's verdict, and a refused role exits before the "listening" line.
  auto port = app.start_http();
  if (!port) return fail(port.error().message);
  std::string audit_notes;
  if (!audit_at_start(app, audit_notes)) {
    app.stop();
    return 2;
  }
  if (config.auth_tokens.empty() && !config.oauth.enabled() && !config.insecure_no_auth)
    std::fprintf(stderr,
                 "fleetmcp: MCP_AUTH_TOKENS is empty, so POST /mcp refuses every request; "
                 "only /mcp/ws (MCP_TOKEN) is served\n");
  // One line: tests and scripts read the port from it.
  const std::string record_api =
      config.ws_enabled ? "; record API on ws://" + config.host + ":" + std::to_string(*port) + "/mcp/ws" : "";
  std::fprintf(stderr, "fleetmcp %s listening on http://%s:%u/mcp (pool max %d, %d threads)%s\n", app::version(),
               config.host.c_str(), *port, config.pool_max, config.threads, record_api.c_str());
  std::fputs(audit_notes.c_str(), stderr);
  std::fflush(stderr);

  wait_for_stop_signal();
  std::fprintf(stderr, "fleetmcp: shutting down\n");
  app.stop();
  return 0;
}

}  // namespace fleetmcp::cli
