// The fleetmcp binary's subcommands, one file each (serve and stdio share
// serve.cpp). run() reads the command line and the configuration and picks
// one; main() only sets the threads' stack size and calls it.
#pragma once

#include <string>
#include <vector>

#include "app/app.hpp"
#include "config/config.hpp"

namespace fleetmcp::cli {

// Exit codes: 0 done, 1 a finding or a rejected statement (doctor,
// check-sql), 2 a bad invocation, configuration or role.
int run(std::vector<std::string> args);

// Prints "fleetmcp: <message>" on stderr; returns 2.
int fail(const std::string& message);
void print_help();

int serve(config::Config config);  // Streamable HTTP (and /mcp/ws) until SIGINT or SIGTERM
int stdio(config::Config config);  // newline-delimited JSON-RPC on stdin/stdout
int demo(config::Config config, const std::vector<std::string>& args);
int doctor(const config::Config& config);
int check_sql(const config::Config& config, const std::vector<std::string>& args);
int role_sql(const config::Config& config, const std::vector<std::string>& args);
int token_new(const std::vector<std::string>& args, const std::string& config_path);

// The self-audit before serving (serve, stdio, demo). False when an unsafe
// role must be refused (the caller exits 2); otherwise `notes` gets the table
// for stderr, to print after the "listening" line.
bool audit_at_start(app::App& app, std::string& notes);
// Blocks until SIGINT or SIGTERM.
void wait_for_stop_signal();

}  // namespace fleetmcp::cli
