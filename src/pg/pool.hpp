// The connection pool: lazy (holds nothing while idle), bounded by pool_max,
// FIFO waiters with a deadline, dead connections destroyed and never reused.
//
// State lives behind one mutex held only for list operations (never across an
// await or a libpq call). A waiter parks on its own timer, on its own executor;
// release() hands it a connection (or the right to open one) and wakes it by
// posting a cancel of that timer to the waiter's executor.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/cancel.hpp"
#include "pg/connection.hpp"

namespace fleetmcp::pg {

struct PoolSettings {
  std::string conninfo;
  int max_connections = 8;
  std::size_t max_waiters = 10000;  // beyond this a request is refused as busy at once
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds max_lifetime{1800};
  int statement_timeout_ms = 0;  // the sessions' default (0: PostgreSQL's)
  std::string timezone{};        // the sessions' TimeZone (empty: the server's)
  // One line for the operator, when the database starts or stops refusing the
  // login (any thread; may be empty).
  std::function<void(const std::string&)> log{};
};

class Pool;

// An acquired connection; returns it to the pool (or destroys it if dead) when dropped.
class Lease {
 public:
  Lease() = default;
  Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&& other) noexcept;
  ~Lease();
  Connection* operator->() { return conn_.get(); }
  Connection& operator*() { return *conn_; }

 private:
  void give_back();
  Pool* pool_ = nullptr;
  std::unique_ptr<Connection> conn_;
};

// What a request the client cancelled (or left) gets, wherever it stopped.
core::Error cancelled_error();

// Each of the pool's max_connections places (a slot) is free or in one state;
// only Pool::move changes a slot's state. A connection exists in Idle and
// Leased; Reserved and Connecting are a place kept for one about to exist.
enum class Slot {
  Reserved,    // taken by a caller (or promised to a waiter) that will open a connection
  Connecting,  // its connection is being opened
  Idle,        // its connection waits in the idle list
  Leased,      // its connection is out, in a Lease
};
inline constexpr int kSlotStates = 4;

struct PoolStats {
  int open = 0;  // slots taken: every state
  int reserved = 0, connecting = 0, idle = 0, leased = 0;
  std::size_t waiting = 0;
  std::uint64_t opened = 0, closed = 0, connect_failures = 0;  // since start
  bool login_refused = false;                                  // a lasting login refusal stands (see Refusal)
  // Leased, or a slot taken for a connection about to be opened.
  int busy() const { return leased + reserved; }
};

class Pool {
 public:
  Pool(asio::io_context& io, PoolSettings settings);
  ~Pool();

  // Waits FIFO for a connection until `deadline`; opens one lazily when under
  // the cap. A fired `cancel` (may be null) ends the wait and frees the place.
  // An idle connection is handed out only if its socket is quiet (see
  // Connection::quiet_while_idle); others are closed on the way.
  // `fresh` asks for a newly opened connection, never an idle one (an idle
  // one is closed to make room): a retry after a connection was found dead
  // must not land on another that died the same way.
  asio::awaitable<core::Result<Lease>> acquire(Clock::time_point deadline, const core::CancelPtr& cancel = nullptr,
                                               bool fresh = false);

  // Starts the periodic sweep of idle and over-age connections.
  void start();
  // Closes idle connections and refuses further work; leased ones close on return.
  void stop();

  // Destroys the pool's own timer; call after the loop threads have stopped and
  // before the io_context is destroyed.
  void release_io_objects() { sweep_timer_.reset(); }

  PoolStats stats();
  asio::thread_pool& blocking() { return blocking_; }

  // After a large result: the next sweep asks the allocator to return freed
  // memory to the system (malloc_trim, on the blocking thread). glibc keeps
  // freed heap pages, and after a large block is freed it serves blocks up to
  // that size from the heap too, so the process would sit at its high-water
  // mark. From the sweep rather than at once, so the reply's buffers, freed
  // after it was written, go back as well. Any thread.
  void trim_memory_soon() { trim_pending_ = true; }

 private:
  friend class Lease;
  struct Waiter {
    explicit Waiter(asio::any_io_executor ex, Clock::time_point deadline) : timer(ex, deadline) {}
    asio::steady_timer timer;
    std::unique_ptr<Connection> handed;  // a connection given by release()
    bool may_open = false;               // or the right to open one (a slot freed up)
  };

  void release(std::unique_ptr<Connection> conn);
  void wake(const std::shared_ptr<Waiter>& waiter);  // any thread
  asio::awaitable<core::Result<Lease>> open_new(Clock::time_point deadline);
  // Under mu_, the one place a slot changes state: `from` or `to` empty is a
  // free slot. Counts a connection opened (Connecting -> Leased), a failed
  // connect (Connecting -> free) and a close (Idle or Leased -> free).
  void move(std::optional<Slot> from, std::optional<Slot> to);
  // Under mu_: a slot in `from` whose connection is gone or never came goes
  // to the next waiter, which may open its own (Reserved), or is freed.
  void pass_on(Slot from);
  asio::awaitable<void> sweep_loop();
  bool expired(const Connection& c, Clock::time_point now) const;

  asio::io_context& io_;
  PoolSettings settings_;
  asio::thread_pool blocking_{1};                  // PQcancel, which blocks
  std::optional<asio::steady_timer> sweep_timer_;  // on its own strand
  std::atomic<bool> trim_pending_{false};

  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;  // the Idle slots' connections, most recently used last
  std::array<int, kSlotStates> slots_{};           // slots in each state
  int taken() const;                               // slots in any state
  std::uint64_t opened_ = 0, closed_ = 0, connect_failures_ = 0;
  std::deque<std::shared_ptr<Waiter>> waiters_;
  bool stopped_ = false;
  // A lasting login refusal (Error::lasting: a wrong password, an unknown role
  // or database, pg_hba.conf): until retry_at every connect fails at once with
  // it, then one caller tries again. The pause doubles from 1 s to 60 s, so a
  // wrong password costs the database one failed login per pause, not a storm
  // that trips fail2ban or auth_delay.
  struct Refusal {
    core::Error error;
    Clock::time_point retry_at;
    std::chrono::seconds pause;
  };
  static constexpr std::chrono::seconds kFirstRefusalPause{1}, kLongestRefusalPause{60};
  std::optional<Refusal> refusal_;
};

}  // namespace fleetmcp::pg
