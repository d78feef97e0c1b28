#include "doctor/gate.hpp"

namespace fleetmcp::doctor {

bool Gate::settle(const Report& report) {
  std::lock_guard lock(mu_);
  if (report_) return false;  // another caller's audit got there first: one verdict
  report_ = report;
  return true;
}

boost::asio::awaitable<core::Result<Report>> Gate::audit_now() {
  {
    std::lock_guard lock(mu_);
    if (report_) co_return *report_;
  }
  auto report = co_await audit(db_, config_, book_);
  if (!report) co_return report.error();
  settle(*report);
  co_return *report;
}

boost::asio::awaitable<core::Status> Gate::admit() {
  {
    std::lock_guard lock(mu_);
    if (!report_) {
    } else if (report_->unsafe() && !config_.allow_unsafe_role) {
      co_return core::make_error(core::ErrorKind::Denied, "fleetmcp refuses to serve: " + refusal_message(*report_));
    } else {
      co_return core::ok_status();
    }
  }
  // Not audited yet (the database was unreachable at start): audit now. Two
  // callers may both run it; the first verdict is kept and logged once.
  auto report = co_await audit(db_, config_, book_);
  if (!report) co_return report.error();  // the plan itself would have failed alike
  if (settle(*report) && log_) {
    std::string text = render_table(*report);
    if (report->unsafe())
      text += config_.allow_unsafe_role
                  ? "fleetmcp: WARNING: serving an unsafe role because MCP_ALLOW_UNSAFE_ROLE=true\n"
                  : "fleetmcp: refusing every tool call: " + refusal_message(*report) + "\n";
    std::fputs(text.c_str(), log_);
    std::fflush(log_);
  }
  co_return co_await admit();
}

bool Gate::audited() const {
  std::lock_guard lock(mu_);
  return report_.has_value();
}

std::optional<std::string> Gate::refusal() const {
  std::lock_guard lock(mu_);
  if (!report_ || !report_->unsafe() || config_.allow_unsafe_role) return std::nullopt;
  return refusal_message(*report_);
}

std::vector<std::string> Gate::warnings() const {
  std::lock_guard lock(mu_);
  return report_ ? warning_lines(*report_) : std::vector<std::string>{};
}

std::optional<Report> Gate::report() const {
  std::lock_guard lock(mu_);
  return report_;
}

}  // namespace fleetmcp::doctor
