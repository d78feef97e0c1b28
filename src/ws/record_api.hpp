// The record API behind /mcp/ws: one request message in, one answer frame out,
// through the same database path as the SQL tools (pool, read-only
// transaction, statement timeout, redaction) and one audit line per request.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "audit/audit.hpp"
#include "config/config.hpp"
#include "core/cancel.hpp"
#include "pg/database.hpp"
#include "policy/policy.hpp"
#include "ratelimit/caller_limits.hpp"
#include "sql/guard.hpp"
#include "ws/models.hpp"

namespace fleetmcp::ws {

class RecordApi {
 public:
  RecordApi(const config::Config& config, pg::Database& db, audit::Sink& audit);

  // Answers one message within the size limit. By value: a coroutine keeps
  // its parameters. `cancel` fires when the client goes away.
  boost::asio::awaitable<std::string> answer(std::string message, std::string caller, core::CancelPtr cancel);

  // Answers a message refused before it was run (too large, too many in
  // flight): the error frame, with the id when `message` shows it, and the
  // audit line.
  std::string refuse(std::string_view message, const std::string& caller, const core::Error& error);

  // Set once, before serving: requests then run as the analyst's mapped role
  // and statement timeout, within the caller's limits across every transport.
  void set_policy(const policy::Book& book, ratelimit::CallerLimits& limits) {
    book_ = &book;
    limits_ = &limits;
  }

  ratelimit::CallerLimits* limits() const { return limits_; }

  // Audits a connection-level event (tool "ws:connect", "ws:rate_limit").
  void audit_event(const std::string& caller, const std::string& tool, const std::string& outcome,
                   const std::string& error);

 private:
  boost::asio::awaitable<core::Result<std::string>> run(const Request& request, audit::Record& record,
                                                        const policy::Grant& grant, core::CancelPtr cancel);
  boost::asio::awaitable<core::Result<std::shared_ptr<const Relation>>> resolve(const config::RecordModel& model,
                                                                                const core::CancelPtr& cancel);
  void forget(const std::string& model);
  std::string allowed_list() const;

  const config::Config& config_;
  pg::Database& db_;
  audit::Sink& audit_;
  sql::Policy policy_;
  policy::Book own_book_;  // the server's settings for all, until set_policy
  const policy::Book* book_ = &own_book_;
  ratelimit::CallerLimits* limits_ = nullptr;
  // Relations by model name, described once and kept for kCatalogTtl; an error
  // saying the catalog changed (a dropped column or table, a revoked grant)
  // forgets the entry at once.
  struct Cached {
    std::shared_ptr<const Relation> relation;
    std::chrono::steady_clock::time_point described;
  };
  std::mutex cache_mu_;
  std::map<std::string, Cached> cache_;
};

}  // namespace fleetmcp::ws
