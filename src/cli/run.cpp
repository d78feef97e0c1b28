#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>

#include "cli/cli.hpp"
#include "policy/policy.hpp"

namespace fleetmcp::cli {

using config::Config;

int run(std::vector<std::string> args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_help();
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  if (command == "version" || command == "--version") {
    std::printf("fleetmcp %s\n", app::version());
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

  config::ServeFlags flags;
  const bool own_arguments = command == "check-sql" || command == "role-sql" || command == "demo";
  for (std::size_t i = 1; i < args.size() && !own_arguments; ++i) {
    if (args[i] == "--insecure-no-auth") {
      flags.insecure_no_auth = true;
    } else if (args[i] == "--conformance-fixtures") {
      flags.conformance_fixtures = true;
    } else if (args[i] == "--help" || args[i] == "-h") {
      print_help();
      return 0;
    } else {
      return fail("unknown option '" + args[i] + "'; see fleetmcp --help");
    }
  }

  std::map<std::string, std::string> file_values;
  if (!config_path.empty()) {
    auto read = config::read_config_file(config_path);
    if (!read) return fail(read.error().message);
    file_values = std::move(*read);
  }
  auto loaded = config::load(file_values, [](const std::string& name) {
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  });
  if (!loaded) return fail(loaded.error().message);
  Config config = std::move(*loaded);
  if (!config.policy_file.empty())
    if (auto book = policy::Book::load(config.policy_file, config); !book) return fail(book.error().message);
  if (command == "check-sql") return check_sql(config, args);
  if (command == "role-sql") return role_sql(config, args);
  if (command == "demo") return demo(std::move(config), args);
  if (config.database_url.empty()) return fail("DATABASE_URL: must be set (the read-only role's connection string)");
  if (command == "doctor") {
    if (flags.insecure_no_auth || flags.conformance_fixtures) return fail("doctor takes only --config FILE");
    return doctor(config);
  }
  auto serving = config::with_serve_flags(std::move(config), flags, /*over_http=*/command == "serve");
  if (!serving) return fail(serving.error().message);
  return command == "stdio" ? stdio(std::move(*serving)) : serve(std::move(*serving));
}

}  // namespace fleetmcp::cli
