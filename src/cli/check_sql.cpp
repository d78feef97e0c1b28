#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <thread>

#include "cli/cli.hpp"
#include "json/bounded.hpp"
#include "sql/guard.hpp"

namespace fleetmcp::cli {

using config::Config;

namespace {

// check-sql --jsonl: one {"sql": ...} per input line, one verdict object per
// output line; for corpora (one catalog load for all of them).
int check_sql_lines(const sql::Policy& policy) {
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
    auto verdict = sql::validate(in["sql"].get<std::string>(), policy);
    json out = verdict
                   ? json{{"verdict", "allow"}}
                   : json{{"verdict", "reject"}, {"rule", verdict.error().rule}, {"message", verdict.error().message}};
    std::printf("%s\n", out.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
  }
  return 0;
}

}  // namespace

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
  std::unique_ptr<app::App> app;
  if (!config.database_url.empty()) {
    app = std::make_unique<app::App>(config, stderr);
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
  const auto policy = sql::policy_from(config, app ? &app->catalog() : nullptr);
  if (jsonl) return check_sql_lines(policy);
  auto verdict = sql::validate(sql, policy);
  std::printf("catalog: %s\n", app ? "live (DATABASE_URL, as the role sees it)"
                                   : "offline (PostgreSQL 15's pg_catalog; set DATABASE_URL for the live one)");
  if (!verdict) {
    const auto& e = verdict.error();
    std::printf("verdict: rejected\nrule: %s\nmessage: %s\n", e.rule.c_str(), e.message.c_str());
    if (e.position > 0) std::printf("position: %d\n%s\n", e.position, sql::caret_excerpt(sql, e.position).c_str());
    return 1;
  }
  const char* kinds[] = {"select", "explain", "show"};
  std::printf("verdict: allowed\nkind: %s\nstatement: %s", kinds[static_cast<int>(verdict->kind)],
              verdict->text.c_str());
  const std::string statement = verdict->text.substr(0, verdict->text.size() - 1);  // without the added newline
  std::printf("normalized: %s\nfingerprint: %s\n", sql::normalize(statement).c_str(), verdict->fingerprint.c_str());
  if (!verdict->unqualified_relations.empty()) {
    std::string names;
    for (const auto& n : verdict->unqualified_relations) names += (names.empty() ? "" : ", ") + n;
    std::printf("unqualified (resolved by search_path): %s\n", names.c_str());
  }
  for (const auto& note : verdict->notes) std::printf("note: %s\n", note.c_str());
  return 0;
}

}  // namespace fleetmcp::cli
