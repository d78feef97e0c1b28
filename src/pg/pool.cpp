#include "pg/pool.hpp"

#include <malloc.h>
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace fleetmcp::pg {

using asio::awaitable;
using asio::use_awaitable;
using core::ErrorKind;
using core::make_error;

core::Error cancelled_error() { return make_error(ErrorKind::Cancelled, "the request was cancelled by the client"); }

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    give_back();
    pool_ = other.pool_;
    conn_ = std::move(other.conn_);
  }
  return *this;
}

Lease::~Lease() { give_back(); }

void Lease::give_back() {
  if (pool_ && conn_) pool_->release(std::move(conn_));
  pool_ = nullptr;
}

Pool::Pool(asio::io_context& io, PoolSettings settings)
    : io_(io), settings_(std::move(settings)), sweep_timer_(std::in_place, asio::make_strand(io)) {}

Pool::~Pool() {
  stop();
  blocking_.join();
}

bool Pool::expired(const Connection& c, Clock::time_point now) const {
  return c.dead() || now - c.created() >= settings_.max_lifetime;
}

awaitable<core::Result<Lease>> Pool::acquire(Clock::time_point deadline, const core::CancelPtr& cancel, bool fresh) {
  const auto executor = co_await asio::this_coro::executor;
  std::shared_ptr<Waiter> waiter;
  std::vector<std::unique_ptr<Connection>> to_close;  // destroyed after unlocking
  {
    std::lock_guard lock(mu_);
    if (stopped_) co_return make_error(ErrorKind::Unavailable, "the server is shutting down");
    const auto now = Clock::now();
    while (!fresh && !idle_.empty()) {
      // The most recently used connection on the caller's own loop, if any:
      // moving one to another loop costs its socket two epoll_ctl calls.
      auto pick = std::find_if(idle_.rbegin(), idle_.rend(), [&](const auto& c) { return c->bound_to(executor); });
      auto at = pick == idle_.rend() ? idle_.end() - 1 : std::prev(pick.base());
      auto conn = std::move(*at);
      idle_.erase(at);
      if (!expired(*conn, now) && conn->quiet_while_idle()) {
        move(Slot::Idle, Slot::Leased);
        conn->bind_to(executor);
        co_return Lease(this, std::move(conn));
      }
      move(Slot::Idle, std::nullopt);
      to_close.push_back(std::move(conn));
    }
    if (fresh && !idle_.empty() && taken() >= settings_.max_connections) {
      // The least recently used goes: the most likely to have died idle.
      to_close.push_back(std::move(idle_.front()));
      idle_.erase(idle_.begin());
      move(Slot::Idle, std::nullopt);
    }
    if (taken() < settings_.max_connections && waiters_.empty()) {
      move(std::nullopt, Slot::Reserved);
    } else {
      if (waiters_.size() >= settings_.max_waiters)
        co_return make_error(ErrorKind::Busy, "server busy: too many requests waiting; retry shortly");
      waiter = std::make_shared<Waiter>(executor, deadline);
      waiters_.push_back(waiter);
    }
  }
  to_close.clear();
  if (!waiter) co_return co_await open_new(deadline);

  if (cancel) cancel->on_cancel([this, waiter] { wake(waiter); });
  boost::system::error_code ec;
  co_await waiter->timer.async_wait(asio::redirect_error(use_awaitable, ec));
  if (cancel) cancel->clear();
  bool may_open = false;
  {
    std::lock_guard lock(mu_);
    if (waiter->handed) co_return Lease(this, std::move(waiter->handed));  // its slot was Leased by release()
    may_open = waiter->may_open;
    if (!may_open) std::erase(waiters_, waiter);  // timed out, or cancelled, while still queued
  }
  if (may_open) co_return co_await open_new(deadline);
  if (cancel && cancel->cancelled()) co_return cancelled_error();
  co_return make_error(ErrorKind::Busy, "server busy: no database connection became free in time; retry shortly");
}

awaitable<core::Result<Lease>> Pool::open_new(Clock::time_point deadline) {
  // The caller holds a Reserved slot; it is passed on if opening fails.
  auto executor = co_await asio::this_coro::executor;
  {
    std::lock_guard lock(mu_);
    if (refusal_ && Clock::now() < refusal_->retry_at) {
      pass_on(Slot::Reserved);
      co_return refusal_->error;
    }
    // This caller tries again; until it knows, the others fail at once.
    if (refusal_) refusal_->retry_at = Clock::now() + settings_.connect_timeout;
    move(Slot::Reserved, Slot::Connecting);
  }
  const auto connect_deadline = std::min(deadline, Clock::now() + settings_.connect_timeout);
  constexpr auto kRetryPause = std::chrono::milliseconds(100);
  // A database that is restarting refuses connections for a moment: keep
  // trying until the connect deadline, so a restart costs the analyst a short
  // wait instead of an error. A refused setting (BadRequest) or a refused
  // login (lasting) is not retried.
  auto opened = co_await Connection::open(executor, blocking_, settings_.conninfo,
                                          std::max(connect_deadline, Clock::now() + kRetryPause),
                                          settings_.statement_timeout_ms, settings_.timezone);
  while (!opened && opened.error().kind != ErrorKind::BadRequest && !opened.error().lasting &&
         Clock::now() + kRetryPause < connect_deadline) {
    asio::steady_timer pause(executor, kRetryPause);
    co_await pause.async_wait(use_awaitable);
    opened = co_await Connection::open(executor, blocking_, settings_.conninfo, connect_deadline,
                                       settings_.statement_timeout_ms, settings_.timezone);
  }
  std::string log_line;
  {
    std::lock_guard lock(mu_);
    if (opened)
      move(Slot::Connecting, Slot::Leased);
    else
      pass_on(Slot::Connecting);
    if (opened) {
      if (refusal_) log_line = "the database accepts the login again";
      refusal_.reset();
    } else if (opened.error().lasting) {
      const bool news = !refusal_ || refusal_->error.message != opened.error().message;
      const auto pause = refusal_ ? std::min(2 * refusal_->pause, kLongestRefusalPause) : kFirstRefusalPause;
      refusal_ = Refusal{opened.error(), Clock::now() + pause, pause};
      if (news)
        log_line = "the database refused the login, which no retry cures: " + opened.error().message +
                   "; calls fail at once until it is fixed (DATABASE_URL or the role), and the login is "
                   "tried again after pauses doubling from 1 s to " +
                   std::to_string(kLongestRefusalPause.count()) + " s";
    } else if (refusal_) {
      refusal_->retry_at = Clock::now();  // a passing failure says nothing about the login
    }
  }
  if (!log_line.empty() && settings_.log) settings_.log(log_line);
  if (!opened) co_return opened.error();
  co_return Lease(this, std::move(opened.value()));
}

int Pool::taken() const {
  int n = 0;
  for (int count : slots_) n += count;
  return n;
}

void Pool::move(std::optional<Slot> from, std::optional<Slot> to) {
  if (from) --slots_[static_cast<int>(*from)];
  if (to) ++slots_[static_cast<int>(*to)];
  if (from == Slot::Connecting) ++(to ? opened_ : connect_failures_);
  if ((from == Slot::Idle || from == Slot::Leased) && !to) ++closed_;
}

void Pool::pass_on(Slot from) {
  move(from, std::nullopt);
  // The next waiter may try its own connect rather than wait for nothing.
  if (!waiters_.empty()) {
    auto next = waiters_.front();
    waiters_.pop_front();
    move(std::nullopt, Slot::Reserved);
    next->may_open = true;
    wake(next);
  }
}

void Pool::wake(const std::shared_ptr<Waiter>& waiter) {
  // The timer belongs to the waiter's executor: cancel it there, not here.
  asio::post(waiter->timer.get_executor(), [waiter] { waiter->timer.cancel(); });
}

void Pool::release(std::unique_ptr<Connection> conn) {
  std::unique_ptr<Connection> doomed;
  {
    std::lock_guard lock(mu_);
    const bool reusable = !stopped_ && !expired(*conn, Clock::now());
    if (!reusable) {
      doomed = std::move(conn);
      pass_on(Slot::Leased);
    } else if (!waiters_.empty()) {
      // Still Leased, to the next waiter. Bound to the waiter's loop now, not
      // when it wakes: whatever holds a connection is on the loop its socket
      // waits on, so a loop's destruction (which destroys its parked waiters)
      // never reaches into another loop's reactor.
      auto next = waiters_.front();
      waiters_.pop_front();
      conn->bind_to(next->timer.get_executor());
      next->handed = std::move(conn);
      wake(next);
    } else {
      move(Slot::Leased, Slot::Idle);
      idle_.push_back(std::move(conn));
    }
  }
}

void Pool::start() { asio::co_spawn(sweep_timer_->get_executor(), sweep_loop(), asio::detached); }

awaitable<void> Pool::sweep_loop() {
  const auto period =
      std::clamp<Clock::duration>(std::min<Clock::duration>(settings_.idle_timeout, settings_.max_lifetime) / 4,
                                  std::chrono::milliseconds(250), std::chrono::seconds(15));
  for (;;) {
    sweep_timer_->expires_after(period);
    boost::system::error_code ec;
    co_await sweep_timer_->async_wait(asio::redirect_error(use_awaitable, ec));
    std::vector<std::unique_ptr<Connection>> doomed;
    {
      std::lock_guard lock(mu_);
      if (stopped_) co_return;
      const auto now = Clock::now();
      std::erase_if(idle_, [&](std::unique_ptr<Connection>& c) {
        if (expired(*c, now) || now - c->last_used() >= settings_.idle_timeout) {
          doomed.push_back(std::move(c));
          move(Slot::Idle, std::nullopt);
          return true;
        }
        return false;
      });
    }
    doomed.clear();
    if (trim_pending_.exchange(false)) asio::post(blocking_, [] { malloc_trim(0); });
  }
}

void Pool::stop() {
  std::vector<std::unique_ptr<Connection>> doomed;
  std::deque<std::shared_ptr<Waiter>> waiters;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (std::size_t i = 0; i < idle_.size(); ++i) move(Slot::Idle, std::nullopt);
    doomed.swap(idle_);
    waiters.swap(waiters_);
    for (auto& w : waiters) wake(w);
  }
  if (sweep_timer_) asio::post(sweep_timer_->get_executor(), [this] { sweep_timer_->cancel(); });
}

PoolStats Pool::stats() {
  std::lock_guard lock(mu_);
  PoolStats s;
  s.open = taken();
  s.reserved = slots_[static_cast<int>(Slot::Reserved)];
  s.connecting = slots_[static_cast<int>(Slot::Connecting)];
  s.idle = slots_[static_cast<int>(Slot::Idle)];
  s.leased = slots_[static_cast<int>(Slot::Leased)];
  s.waiting = waiters_.size();
  s.opened = opened_;
  s.closed = closed_;
  s.connect_failures = connect_failures_;
  s.login_refused = refusal_.has_value();
  return s;
}

}  // namespace fleetmcp::pg
