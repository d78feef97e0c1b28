#include "pg/connection.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cctype>

#include <poll.h>

#include "pg/recv_limit.hpp"
#include "pg/sqlstate.hpp"

namespace fleetmcp::pg {
namespace {

using asio::awaitable;
using asio::use_awaitable;
using core::ErrorKind;
using core::make_error;
using WaitType = asio::posix::descriptor_base::wait_type;

std::string trimmed_message(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// What a call may leave on a session that ROLLBACK does not undo, undone in
// the same round trip: session advisory locks and SQL-level prepared
// statements (measured on PostgreSQL 15: set_config(..., false), LISTEN and
// WITH HOLD cursors made inside the rolled-back transaction do not survive it,
// PREPARE and pg_advisory_lock do). Both run inside the pipeline's implicit
// transaction; DISCARD ALL would not (it refuses a transaction block).
// The first also sets the session's application_name when the analyst changed
// (see run()), so the unlock costs no statement of its own.
constexpr const char* kUnlockAll = "SELECT pg_catalog.pg_advisory_unlock_all()";
constexpr const char* kUnlockAllAndRename =
    "SELECT pg_catalog.pg_advisory_unlock_all(), pg_catalog.set_config('application_name', $1, false)";
constexpr const char* kDeallocateAll = "DEALLOCATE ALL";
constexpr std::size_t kCleanupStatements = 2;

RunFailure dead_failure(PGconn* conn, bool nothing_ran) {
  RunFailure f;
  f.connection_dead = true;
  f.nothing_ran = nothing_ran;
  f.error = make_error(ErrorKind::ConnectionLost, "database connection lost: " + trimmed_message(PQerrorMessage(conn)));
  return f;
}

// Adds default_transaction_read_only=on to whatever `options` the URL carries, so
// the connection itself refuses writes even outside our BEGIN READ ONLY, and
// the statement timeout and time zone, so that a call need not set them (see run()).
std::string session_options(const std::string& conninfo, int statement_timeout_ms, const std::string& timezone) {
  std::string options;
  char* err = nullptr;
  if (PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &err)) {
    for (auto* o = parsed; o->keyword; ++o)
      if (std::string_view(o->keyword) == "options" && o->val) options = o->val;
    PQconninfoFree(parsed);
  }
  if (err) PQfreemem(err);
  if (!options.empty()) options += ' ';
  options += "-c default_transaction_read_only=on";
  if (statement_timeout_ms > 0) options += " -c statement_timeout=" + std::to_string(statement_timeout_ms);
  if (!timezone.empty()) {
    // libpq splits options at spaces; a backslash keeps one in the value.
    options += " -c TimeZone=";
    for (char ch : timezone) {
      if (ch == ' ' || ch == '\\') options += '\\';
      options += ch;
    }
  }
  return options;
}

bool same_zone(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

core::Error error_from_result(const PGresult* result) {
  auto field = [&](int code) {
    const char* v = PQresultErrorField(result, code);
    return std::string(v ? v : "");
  };
  core::Error e;
  e.sqlstate = field(PG_DIAG_SQLSTATE);
  e.message = field(PG_DIAG_MESSAGE_PRIMARY);
  if (e.message.empty()) e.message = trimmed_message(PQresultErrorMessage(result));
  std::string detail = field(PG_DIAG_MESSAGE_DETAIL), hint = field(PG_DIAG_MESSAGE_HINT);
  e.detail = detail.empty() ? hint : (hint.empty() ? detail : detail + " " + hint);
  std::string pos = field(PG_DIAG_STATEMENT_POSITION);
  e.position = pos.empty() ? 0 : std::atoi(pos.c_str());
  if (is_disconnect_sqlstate(e.sqlstate) || is_session_ending_severity(field(PG_DIAG_SEVERITY_NONLOCALIZED)))
    e.kind = ErrorKind::ConnectionLost;
  else
    e.kind = ErrorKind::DbError;
  return e;
}

Connection::Connection(asio::any_io_executor executor, asio::thread_pool& blocking, PGconn* conn)
    : conn_(conn), blocking_(blocking), socket_(executor) {}

Connection::~Connection() {
  // The descriptor must let go of the fd before libpq closes it.
  if (socket_.is_open()) socket_.release();
  if (conn_) PQfinish(conn_);
}

void Connection::watch_socket() {
  if (socket_.is_open()) socket_.release();
  const int fd = PQsocket(conn_);
  if (fd >= 0) {
    boost::system::error_code ec;
    socket_.assign(fd, ec);
  }
}

bool Connection::bound_to(const asio::any_io_executor& executor) {
  return &asio::query(socket_.get_executor(), asio::execution::context) ==
         &asio::query(executor, asio::execution::context);
}

void Connection::bind_to(const asio::any_io_executor& executor) {
  if (bound_to(executor)) return;
  const int fd = socket_.is_open() ? socket_.release() : -1;
  socket_ = asio::posix::stream_descriptor(executor);
  if (fd >= 0) {
    boost::system::error_code ignored;
    socket_.assign(fd, ignored);
  }
}

// Waits until the socket is ready or the deadline passes (returns timed_out). The
// timer handler runs on the coroutine's executor (a strand), so it never races
// the coroutine; `state` tells it whether the wait is still pending.
awaitable<boost::system::error_code> Connection::wait(WaitType type, Clock::time_point deadline) {
  auto executor = co_await asio::this_coro::executor;
  struct State {
    bool pending = true;
    bool fired = false;
  };
  auto state = std::make_shared<State>();
  asio::steady_timer timer(executor, deadline);
  timer.async_wait(asio::bind_executor(executor, [state, this](boost::system::error_code ec) {
    if (ec || !state->pending) return;
    state->fired = true;
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  }));
  boost::system::error_code ec;
  co_await socket_.async_wait(type, asio::redirect_error(use_awaitable, ec));
  state->pending = false;
  timer.cancel();
  if (state->fired) co_return make_error_code(boost::system::errc::timed_out);
  co_return ec;
}

awaitable<core::Result<std::unique_ptr<Connection>>> Connection::open(
    asio::any_io_executor executor, asio::thread_pool& blocking, const std::string& conninfo,
    Clock::time_point deadline, int statement_timeout_ms, const std::string& timezone) {
  const std::string options = session_options(conninfo, statement_timeout_ms, timezone);
  // Later keywords override what the URL says: UTF-8 and ISO dates are what the
  // JSON encoder expects, whatever the server's defaults.
  const char* keywords[] = {"dbname", "options", "client_encoding", "fallback_application_name", nullptr};
  const char* values[] = {conninfo.c_str(), options.c_str(), "UTF8", "fleetmcp", nullptr};
  PGconn* raw = PQconnectStartParams(keywords, values, /*expand_dbname=*/1);
  if (!raw) co_return make_error(ErrorKind::Unavailable, "database unavailable: out of memory");
  std::unique_ptr<Connection> c(new Connection(executor, blocking, raw));
  if (PQstatus(raw) == CONNECTION_BAD)
    co_return make_error(ErrorKind::Unavailable, "database unavailable: " + trimmed_message(PQerrorMessage(raw)));

  PostgresPollingStatusType status = PGRES_POLLING_WRITING;
  while (status != PGRES_POLLING_OK) {
    if (status == PGRES_POLLING_FAILED) {
      const std::string message = trimmed_message(PQerrorMessage(raw));
      // A zone PostgreSQL does not know is a configuration error, not an outage:
      // no retry will cure it (BadRequest stops the pool's retries and the start).
      if (!timezone.empty() && message.find("parameter \"TimeZone\"") != std::string::npos)
        co_return make_error(ErrorKind::BadRequest, "MCP_TIMEZONE: PostgreSQL does not know the time zone '" +
                                                        timezone + "' (" + message + ")");
      auto refused = make_error(ErrorKind::Unavailable, "database unavailable: " + message);
      refused.lasting = is_lasting_login_refusal(message);
      co_return refused;
    }
    // libpq may switch sockets while it tries hosts or SSL modes: re-wrap each time.
    c->watch_socket();
    auto ec = co_await c->wait(status == PGRES_POLLING_READING ? WaitType::wait_read : WaitType::wait_write, deadline);
    if (ec == boost::system::errc::timed_out)
      co_return make_error(ErrorKind::Unavailable, "database unavailable: no connection within the connect timeout");
    status = PQconnectPoll(raw);
  }
  c->watch_socket();
  if (PQsetnonblocking(raw, 1) != 0)
    co_return make_error(ErrorKind::Unavailable, "database unavailable: cannot use non-blocking mode");
  c->canceller_ = std::shared_ptr<PGcancel>(PQgetCancel(raw), [](PGcancel* p) {
    if (p) PQfreeCancel(p);
  });
  if (const char* name = PQparameterStatus(raw, "application_name")) c->application_name_ = name;
  c->session_application_name_ = c->application_name_;
  if (statement_timeout_ms > 0) {
    // A pooler may drop startup options (PgBouncer does): the session's own
    // default, as PostgreSQL reports it, decides whether calls must set it.
    auto reset = co_await c->query_value(
        "SELECT reset_val FROM pg_catalog.pg_settings WHERE name = 'statement_timeout'", deadline);
    if (!reset)
      co_return make_error(ErrorKind::Unavailable, "database unavailable: " + trimmed_message(PQerrorMessage(raw)));
    if (*reset == std::to_string(statement_timeout_ms)) c->session_timeout_ms_ = statement_timeout_ms;
  }
  // The server reports its TimeZone at every connect; when the startup option
  // did not reach it (a pooler), each call sets the zone itself.
  if (!timezone.empty()) {
    const char* reported = PQparameterStatus(raw, "TimeZone");
    if (!reported || !same_zone(reported, timezone)) {
      // Tried once here (for this implicit transaction only), so that an unknown
      // zone stops the start rather than every call.
      const std::string sql = "SELECT pg_catalog.set_config('TimeZone', '" + timezone + "', true)";
      if (!co_await c->query_value(sql.c_str(), deadline)) {
        if (PQstatus(raw) != CONNECTION_OK)
          co_return make_error(ErrorKind::Unavailable, "database unavailable: " + trimmed_message(PQerrorMessage(raw)));
        co_return make_error(ErrorKind::BadRequest,
                             "MCP_TIMEZONE: PostgreSQL does not know the time zone '" + timezone + "'");
      }
      c->set_timezone_ = timezone;
    }
  }
  co_return c;
}

awaitable<std::optional<std::string>> Connection::query_value(const char* sql, Clock::time_point deadline) {
  if (PQsendQuery(conn_, sql) != 1) co_return std::nullopt;
  while (PQflush(conn_) == 1)
    if (co_await wait(WaitType::wait_write, deadline)) co_return std::nullopt;
  std::optional<std::string> value;
  bool failed = false;
  for (;;) {
    while (PQisBusy(conn_)) {
      if (co_await wait(WaitType::wait_read, deadline) || PQconsumeInput(conn_) != 1) co_return std::nullopt;
    }
    PGresult* raw = PQgetResult(conn_);
    if (!raw) break;
    ResultPtr r(raw);
    if (PQresultStatus(raw) == PGRES_TUPLES_OK && PQntuples(raw) == 1)
      value = PQgetvalue(raw, 0, 0);
    else
      failed = true;
  }
  if (failed) co_return std::nullopt;
  co_return value;
}

bool Connection::quiet_while_idle() const {
  const int fd = PQsocket(conn_);
  if (fd < 0 || PQstatus(conn_) != CONNECTION_OK) return false;
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

void Connection::send_cancel() {
  if (!canceller_) return;
  cancel_sent_ = true;
  asio::post(blocking_, [canceller = canceller_] {
    char err[256];
    PQcancel(canceller.get(), err, sizeof err);
  });
}

std::uint64_t Connection::read_allowance(std::uint64_t max_read_bytes) const {
  if (!max_read_bytes) return RecvLimit::kNoLimit;
  // One byte past the limit at most: enough to know it was passed.
  return last_run_read_bytes_ > max_read_bytes ? 0 : max_read_bytes + 1 - last_run_read_bytes_;
}

awaitable<std::optional<RunFailure>> Connection::flush(Clock::time_point deadline, std::uint64_t max_read_bytes) {
  for (;;) {
    int r;
    {
      // libpq reads pending input while a send would block: the statements'
      // results may start arriving here. (Never across a co_await: the
      // limit belongs to this thread.)
      RecvLimit limit(PQsocket(conn_), read_allowance(max_read_bytes));
      r = PQflush(conn_);
      last_run_read_bytes_ += limit.taken();
    }
    if (r == 0) co_return std::nullopt;
    if (r < 0) co_return dead_failure(conn_, true);
    // libpq reads pending input itself while a send would block, so the server
    // can never stall us by filling our receive buffer.
    auto ec = co_await wait(WaitType::wait_write, deadline);
    if (ec) {
      RunFailure f = dead_failure(conn_, true);
      if (ec == boost::system::errc::timed_out)
        f.error = make_error(ErrorKind::Timeout, "the database did not accept the request in time");
      co_return f;
    }
  }
}

// PostgreSQL keeps 63 bytes of printable ASCII; the rest would become '?' there anyway.
std::string Connection::application_name_with(const std::string& analyst) const {
  std::string name = application_name_.empty() ? "fleetmcp" : application_name_;
  name += ':';
  for (char c : analyst) name += (c >= 32 && c < 127) ? c : '?';
  if (name.size() > 63) name.resize(63);
  return name;
}

awaitable<std::variant<RunOutput, RunFailure>> Connection::run(const Plan& plan, Clock::time_point deadline) {
  last_used_ = Clock::now();
  cancel_requested_ = false;
  cancel_sent_ = false;
  if (PQstatus(conn_) != CONNECTION_OK || PQenterPipelineMode(conn_) != 1) {
    dead_ = true;
    co_return dead_failure(conn_, true);
  }

  last_run_read_bytes_ = 0;
  auto send = [&](const std::string& sql, const std::vector<std::string>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p.c_str());
    return PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                             nullptr, 0) == 1;
  };
  // Item layout of the reply, one sync group, one write:
  //   [BEGIN, settings?, statements..., ROLLBACK, cleanup..., SYNC].
  // A statement that fails skips the rest of the group, ROLLBACK included, and
  // leaves the transaction aborted: then [ROLLBACK, cleanup..., SYNC] goes
  // again on its own, one more round trip for a failed call only.
  // One statement sets what this call needs and the session lacks, all LOCAL:
  // statement_timeout when the session's default differs, TimeZone when the
  // session did not take the configured zone, the role, and application_name
  // when the session's names another analyst. Values travel as parameters: no
  // quoting to get wrong.
  // application_name is also set for the session after the ROLLBACK, so the
  // analyst's next call on this connection needs no statement for it; an idle
  // session names the analyst it served last.
  const std::string name = plan.as.analyst.empty() ? application_name_ : application_name_with(plan.as.analyst);
  const bool rename = name != session_application_name_;
  std::vector<std::string> settings;
  if (plan.statement_timeout_ms != session_timeout_ms_)
    settings.insert(settings.end(), {"statement_timeout", std::to_string(plan.statement_timeout_ms)});
  if (!set_timezone_.empty()) settings.insert(settings.end(), {"TimeZone", set_timezone_});
  if (!plan.as.role.empty()) settings.insert(settings.end(), {"role", plan.as.role});
  if (rename) settings.insert(settings.end(), {"application_name", name});
  std::string settings_sql;
  for (std::size_t i = 0; i < settings.size(); i += 2)
    settings_sql += (i ? ", " : "SELECT ") + std::string("pg_catalog.set_config($") + std::to_string(i + 1) + ", $" +
                    std::to_string(i + 2) + ", true)";
  // The cleanup shares ROLLBACK's sync group, so behind PgBouncer in
  // transaction mode it reaches the same server connection (PgBouncer lets the
  // server go only at a ReadyForQuery outside a transaction).
  const auto send_rollback_and_cleanup = [&] {
    return send("ROLLBACK", {}) && (rename ? send(kUnlockAllAndRename, {name}) : send(kUnlockAll, {})) &&
           send(kDeallocateAll, {}) && PQpipelineSync(conn_) == 1;  // libpq flushes here
  };
  const std::size_t first = 1 + (settings.empty() ? 0 : 1), rollback = first + plan.statements.size(),
                    sync = rollback + 1 + kCleanupStatements;
  const auto streamed = [&](std::size_t at) {
    return plan.on_row && at == first + static_cast<std::size_t>(plan.stream_statement);
  };
  bool sent = send("BEGIN READ ONLY", {}) && (settings.empty() || send(settings_sql, settings));
  for (const auto& s : plan.statements) sent = sent && send(s.sql, s.params);
  if (!sent || !send_rollback_and_cleanup()) {
    dead_ = true;
    co_return dead_failure(conn_, true);
  }
  if (auto failure = co_await flush(deadline, plan.max_read_bytes)) {
    dead_ = true;
    co_return *failure;
  }

  RunOutput out;
  out.results.resize(plan.statements.size());
  Clock::time_point next_cancel = Clock::now();
  std::optional<core::Error> first_error;
  bool began = false;
  bool again = false;  // the ROLLBACK was skipped: it and the cleanup go on their own
  bool recovering = false;
  std::size_t item = 0;
  while (true) {
    while (item <= sync && !PQisBusy(conn_)) {
      PGresult* raw = PQgetResult(conn_);
      if (raw == nullptr) {
        if (item == sync) {
          if (PQstatus(conn_) == CONNECTION_BAD) {
            dead_ = true;
            co_return dead_failure(conn_, !began);
          }
          break;  // the sync has not arrived yet: wait for input
        }
        ++item;  // end of the current statement's results
        if (streamed(item) && !plan.rows_at_once)
          PQsetSingleRowMode(conn_);  // must precede the first PQgetResult of that statement
        continue;
      }
      ResultPtr r(raw);
      const ExecStatusType status = PQresultStatus(raw);
      if (status == PGRES_SINGLE_TUPLE) {
        plan.on_row(raw, 0);
        continue;
      }
      if (status == PGRES_PIPELINE_SYNC) {
        item = sync + 1;
        continue;
      }
      if (status == PGRES_TUPLES_OK && plan.rows_at_once && streamed(item)) {
        for (int row = 0; row < PQntuples(raw); ++row) plan.on_row(raw, row);
        // The rows' memory goes now; the columns stay described.
        if (PGresult* bare = PQntuples(raw) ? PQcopyResult(raw, PG_COPYRES_ATTRS) : nullptr) r.reset(raw = bare);
      }
      if (status == PGRES_FATAL_ERROR) {
        core::Error e = error_from_result(raw);
        if (PQstatus(conn_) == CONNECTION_BAD || e.kind == ErrorKind::ConnectionLost) {
          dead_ = true;
          RunFailure f = dead_failure(conn_, !began);
          if (!e.sqlstate.empty()) f.error.message = "database connection lost: " + e.message;
          co_return f;
        }
        // A failed ROLLBACK or cleanup may leave session state behind (a lock, a
        // prepared statement): the statements' results stand, the connection goes.
        if (item >= rollback)
          dead_ = true;
        else if (!first_error)
          first_error = std::move(e);
      } else if (item >= rollback && status == PGRES_PIPELINE_ABORTED) {
        // Skipped after a failed statement: again on their own (once).
        if (recovering || !first_error)
          dead_ = true;
        else
          again = true;
      } else if (item == 0 && status == PGRES_COMMAND_OK) {
        began = true;
      } else if (item >= first && item < rollback && status != PGRES_PIPELINE_ABORTED) {
        out.results[item - first] = std::move(r);
      }
    }
    if (item > sync) {
      if (!again || dead_) break;
      again = false;
      recovering = true;
      item = rollback;  // the next results are ROLLBACK's, the cleanup's and the sync (so items stay >= rollback)
      if (!send_rollback_and_cleanup()) {
        dead_ = true;
        break;
      }
      if (co_await flush(deadline, 0)) {
        dead_ = true;
        break;
      }
      continue;
    }
    // Complete rows were handed over above; a statement whose results passed
    // the limit stops here, before libpq reads (and holds) any more of it.
    // (Bytes before the first statement's results count too: a statement's
    // rows can arrive in the same read as BEGIN's answer.)
    if (plan.max_read_bytes && item < rollback && last_run_read_bytes_ > plan.max_read_bytes) {
      // The backend is still sending and libpq holds part of a row: cancel,
      // and never reuse the session (cancel_sent_ drops it too).
      dead_ = true;
      send_cancel();
      if (streamed(item) && !plan.rows_at_once) {
        out.cut_at_read_limit = true;
        co_return out;
      }
      RunFailure f;
      f.connection_dead = true;
      f.over_read_limit = true;
      f.error = make_error(ErrorKind::Denied,
                           "the result passed the limit of " + std::to_string(plan.max_read_bytes) + " bytes");
      co_return f;
    }
    // Wake at least every slice to (re)send a requested cancel.
    constexpr auto kSlice = std::chrono::milliseconds(250);
    constexpr auto kCancelEvery = std::chrono::milliseconds(500);
    if (cancel_requested_ && Clock::now() >= next_cancel) {
      send_cancel();
      next_cancel = Clock::now() + kCancelEvery;
    }
    auto ec = co_await wait(WaitType::wait_read, std::min(deadline, Clock::now() + kSlice));
    if (ec == boost::system::errc::timed_out && Clock::now() < deadline) continue;
    if (ec) {
      dead_ = true;  // the protocol state is unknown now: never reuse this connection
      RunFailure f = dead_failure(conn_, !began);
      if (ec == boost::system::errc::timed_out)
        f.error = make_error(ErrorKind::Timeout, "the database did not answer within the request deadline");
      co_return f;
    }
    bool consumed;
    {
      // The limit holds until the statements' results are in; ROLLBACK's
      // small answers are always read.
      RecvLimit limit(PQsocket(conn_), item < rollback ? read_allowance(plan.max_read_bytes) : RecvLimit::kNoLimit);
      consumed = PQconsumeInput(conn_) == 1;
      last_run_read_bytes_ += limit.taken();
    }
    if (!consumed) {
      dead_ = true;
      co_return dead_failure(conn_, !began);
    }
  }
  if (PQexitPipelineMode(conn_) != 1 || PQtransactionStatus(conn_) != PQTRANS_IDLE) dead_ = true;
  if (!dead_) session_application_name_ = name;  // the cleanup ran
  // A PQcancel runs on another thread and may reach the backend after this
  // run ended, during the next caller's statement on the same session: a
  // connection that sent one is never reused.
  if (cancel_sent_) dead_ = true;
  last_used_ = Clock::now();

  if (first_error) {
    RunFailure f;
    f.error = std::move(*first_error);
    f.nothing_ran = !began;
    if (f.error.sqlstate == kQueryCanceled) {
      f.error.kind = cancel_requested_ ? ErrorKind::Cancelled : ErrorKind::Timeout;
      if (!cancel_requested_)
        f.error.message = "the statement ran longer than the statement timeout (" +
                          std::to_string(plan.whole_timeout_ms ? plan.whole_timeout_ms : plan.statement_timeout_ms) +
                          " ms) and was cancelled";
    }
    co_return f;
  }
  co_return out;
}

}  // namespace fleetmcp::pg
