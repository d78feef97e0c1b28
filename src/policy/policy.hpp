// Per-analyst policy (MCP_POLICY_FILE): which schemas an analyst reads, which
// columns are sensitive for them, their row cap, statement timeout, calls per
// minute, concurrent calls and, optionally, the PostgreSQL role their
// statements run as (SET LOCAL ROLE inside the read-only transaction, so the
// database's grants and row-level security apply per person). Keyed by analyst
// and by group; [defaults] covers everyone else. A key an entry leaves out is
// inherited: analyst, then the caller's groups in name order, then [defaults],
// then the server's settings.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"

namespace fleetmcp::policy {

// One entry of the file: each key optional.
struct Rules {
  std::optional<std::vector<std::string>> schemas;
  std::optional<std::vector<std::string>> sensitive_columns;  // added to MCP_REDACT_COLUMNS
  std::optional<int> max_rows;
  std::optional<int> statement_timeout_ms;
  std::optional<int> calls_per_minute;
  std::optional<int> concurrent_calls;
  std::optional<std::string> role;
};

// What applies to one caller, every value resolved.
struct Grant {
  std::string source;     // the entries that applied, for audit lines: "analyst:alice+group:ops+defaults"
  config::Config config;  // the server's settings with the policy applied
  std::string role;       // empty: the connection's own role
  int calls_per_minute = 0;
  int concurrent_calls = 0;
};

class Book {
 public:
  // No file: everyone gets the server's settings.
  explicit Book(config::Config server);
  // The file's text; `origin` names it in errors ("policy.toml:12: ...").
  static core::Result<Book> parse(std::string_view text, const std::string& origin, const config::Config& server);
  static core::Result<Book> load(const std::string& path, const config::Config& server);

  Book(Book&& other) noexcept;

  // No analyst or group entries: everyone reads the same.
  bool uniform() const { return groups_.empty() && analysts_.empty(); }

  std::shared_ptr<const Grant> grant(const std::string& analyst, const std::vector<std::string>& groups) const;

  // Every role the file maps someone to, with the grant that names it first
  // (the self-audit checks each as it checks the connection's role).
  std::vector<std::shared_ptr<const Grant>> role_grants() const;

 private:
  std::shared_ptr<const Grant> resolve(const std::string& analyst, const std::vector<std::string>& groups) const;

  config::Config server_;
  Rules defaults_;
  std::map<std::string, Rules> groups_;  // by name: consulted in this order
  std::map<std::string, Rules> analysts_;
  // Resolved grants by analyst and groups; cleared when it grows past a bound.
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, std::shared_ptr<const Grant>> cache_;
};

}  // namespace fleetmcp::policy
