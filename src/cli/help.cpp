#include <cstdio>

#include "cli/cli.hpp"

namespace fleetmcp::cli {

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
      app::version());
  for (const auto& s : config::settings())
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

}  // namespace fleetmcp::cli
