// One PostgreSQL connection driven by non-blocking libpq on the event loop. Its
// socket is watched through a non-owning stream_descriptor; libpq owns the fd.
#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/result.hpp"

namespace fleetmcp::pg {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// One statement sent with the extended protocol: PostgreSQL itself refuses a
// second statement smuggled into `sql`.
struct Statement {
  std::string sql;
  std::vector<std::string> params;  // text-format parameters $1..$n
};

// What one request runs, always inside BEGIN READ ONLY ... ROLLBACK.
// Who a plan's statements run as, set inside its read-only transaction and
// gone with it: the analyst's mapped role (so grants and row-level security
// apply per person), and the analyst after the connection's application_name
// ("fleetmcp:alice"), so pg_stat_activity shows who runs what.
struct RunAs {
  std::string role;     // empty: the connection's own role
  std::string analyst;  // empty: application_name unchanged
};

struct Plan {
  int statement_timeout_ms = 0;  // 0: the server's (MCP_STATEMENT_TIMEOUT_MS)
  int whole_timeout_ms = 0;      // the call's, named in a timeout error, when the above is what is left of it
  RunAs as;
  std::vector<Statement> statements;
  // Optionally, the rows of one statement go through `on_row` (row `row` of
  // `result`). One by one as they arrive (libpq's single-row mode, one PGresult
  // per row), memory stays at one row however wide or many the rows are. With
  // rows_at_once, all of them once the whole result is in (one PGresult,
  // bounded by max_read_bytes): a third less CPU per row. A result that passes
  // max_read_bytes first hands over nothing, and Database::run runs the plan
  // again one row at a time, so the rows before the limit still count.
  int stream_statement = -1;
  std::function<void(const PGresult* result, int row)> on_row;
  bool rows_at_once = false;
  // Sent for a caller (counted in Database::plans_sent), or by the server
  // itself (the catalog refresh).
  bool for_caller = true;
  // The most bytes the statements' results may take from the socket (0: no
  // limit). Past it, reading stops: the statement is cancelled and the
  // connection, which still holds part of a row, is dropped. Counted on the
  // socket because libpq holds a row until all of it has arrived.
  std::uint64_t max_read_bytes = 0;
};

// A failed run: the error, plus what the pool and retry logic need to know.
struct RunFailure {
  core::Error error;
  bool connection_dead = false;  // discard the connection
  bool nothing_ran = false;      // failed before BEGIN completed: safe to retry
  bool over_read_limit = false;  // a result passed Plan::max_read_bytes
};

struct RunOutput {
  // One per Plan statement, in order; a streamed statement's is its final,
  // row-less result (its columns are still described).
  std::vector<ResultPtr> results;
  // The statement streamed one row at a time passed Plan::max_read_bytes: its
  // rows so far went to on_row, the rest were never read, and its result (and
  // those after it) are null.
  bool cut_at_read_limit = false;
};

class Connection {
 public:
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Opens a connection with libpq's non-blocking connect, with
  // `statement_timeout_ms` (if not 0) as the session's statement_timeout and
  // `timezone` (if not empty) as its TimeZone; never blocks the loop
  // except for a host-name lookup inside PQconnectStart (use an IP or a local
  // resolver cache for a fully non-blocking start).
  static asio::awaitable<core::Result<std::unique_ptr<Connection>>> open(
      asio::any_io_executor executor, asio::thread_pool& blocking, const std::string& conninfo,
      Clock::time_point deadline, int statement_timeout_ms = 0, const std::string& timezone = {});

  // Sends BEGIN READ ONLY; one SELECT of set_config(..., true) for what the
  // call needs and the session lacks (statement_timeout unless the session's
  // default is the plan's already, TimeZone only when the session did not get
  // the configured one, the plan's role and analyst); <statements>; SYNC;
  // ROLLBACK; pg_advisory_unlock_all(); DEALLOCATE ALL; SYNC in one write
  // (pipeline mode) and reads every result: nothing a call did outlives it on
  // the session. A failed cleanup marks the connection dead.
  // "<application_name>:<analyst>", at most 63 bytes of printable ASCII.
  std::string application_name_with(const std::string& analyst) const;
  asio::awaitable<std::variant<RunOutput, RunFailure>> run(const Plan& plan, Clock::time_point deadline);

  // Asks for the running statement to be cancelled; safe from any thread. The
  // coroutine in run() sends PQcancel (which blocks, so on `blocking`, never on
  // the loop), and again every half second until the statement ends: a cancel
  // that reaches the backend between two pipelined statements is dropped by
  // PostgreSQL. A connection that sent one is not reused (see run()).
  void cancel() { cancel_requested_ = true; }

  // Whether a pooled connection still looks alive: an idle session has
  // nothing to say, so readable bytes (the FATAL of a backend terminated while
  // idle, a pooler's goodbye) or end of file mean it is gone. One poll(2).
  bool quiet_while_idle() const;

  // Moves the socket's waits to `executor`'s event loop, if elsewhere: a
  // connection serves the loop of whoever holds it (two epoll_ctl calls when
  // it changes loops, instead of a hand-off between threads on every wait).
  void bind_to(const asio::any_io_executor& executor);
  bool bound_to(const asio::any_io_executor& executor);

  bool dead() const { return dead_; }
  // Bytes the last run() took from the socket.
  std::uint64_t last_run_read_bytes() const { return last_run_read_bytes_; }
  Clock::time_point created() const { return created_; }
  Clock::time_point last_used() const { return last_used_; }
  int backend_pid() const { return conn_ ? PQbackendPID(conn_) : 0; }

 private:
  Connection(asio::any_io_executor executor, asio::thread_pool& blocking, PGconn* conn);
  void send_cancel();
  void watch_socket();  // (re)wraps PQsocket() in the descriptor
  asio::awaitable<boost::system::error_code> wait(asio::posix::descriptor_base::wait_type type,
                                                  Clock::time_point deadline);
  asio::awaitable<std::optional<RunFailure>> flush(Clock::time_point deadline, std::uint64_t max_read_bytes);
  // What libpq may still read in this run under Plan::max_read_bytes.
  std::uint64_t read_allowance(std::uint64_t max_read_bytes) const;
  // One value of a one-row query, outside any pipeline (nullopt: it failed).
  asio::awaitable<std::optional<std::string>> query_value(const char* sql, Clock::time_point deadline);

  PGconn* conn_;
  asio::thread_pool& blocking_;
  asio::posix::stream_descriptor socket_;
  std::shared_ptr<PGcancel> canceller_;
  Clock::time_point created_ = Clock::now();
  Clock::time_point last_used_ = Clock::now();
  bool dead_ = false;
  std::atomic<bool> cancel_requested_{false};  // set from any thread by cancel()
  bool cancel_sent_ = false;                   // a PQcancel left during this run()
  std::uint64_t last_run_read_bytes_ = 0;
  int session_timeout_ms_ = -1;           // the session's verified statement_timeout (-1: unknown)
  std::string set_timezone_;              // the configured TimeZone when the session did not take it
  std::string application_name_;          // the session's, as the server reported it at connect
  std::string session_application_name_;  // the session's now: application_name_ or the last analyst's
};

// Turns an error PGresult into an Error with PostgreSQL's message, SQLSTATE and position.
core::Error error_from_result(const PGresult* result);

}  // namespace fleetmcp::pg
