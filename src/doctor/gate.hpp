// The self-audit's verdict, kept for the life of the server: every plan asks
// it first (pg::Database's admission). Until the role has been audited the
// first plan runs the audit (the database may have been down at start); then
// the verdict stands. An unsafe role, without MCP_ALLOW_UNSAFE_ROLE=true, gets
// every plan refused with the refusal message, so /readyz says 503 with it and
// tool calls return it, while /healthz still answers.
#pragma once

#include <cstdio>
#include <mutex>
#include <optional>

#include "doctor/audit.hpp"

namespace fleetmcp::doctor {

class Gate {
 public:
  // `log`: where the table and the decision go when the audit runs late (stderr).
  // `book`: the roles MCP_POLICY_FILE maps analysts to are audited too (may be null).
  Gate(pg::Database& db, const config::Config& config, std::FILE* log, const policy::Book* book = nullptr)
      : db_(db), config_(config), log_(log), book_(book) {}

  // Ok when plans may run; the refusal, or the reason the audit could not run.
  boost::asio::awaitable<core::Status> admit();

  // Runs the audit if no verdict exists yet and keeps the verdict; the report
  // is also returned for the caller to print (then nothing is logged here).
  boost::asio::awaitable<core::Result<Report>> audit_now();

  bool audited() const;
  std::optional<std::string> refusal() const;  // set when an unsafe role is refused
  std::vector<std::string> warnings() const;   // every finding, for /readyz and the instructions
  std::optional<Report> report() const;        // the verdict's report, once audited

 private:
  // Keeps the first verdict; returns whether this call set it.
  bool settle(const Report& report);

  pg::Database& db_;
  const config::Config& config_;
  std::FILE* log_;
  const policy::Book* book_;
  mutable std::mutex mu_;
  std::optional<Report> report_;  // the verdict: set once
};

}  // namespace fleetmcp::doctor
