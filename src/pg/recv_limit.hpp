// Counts, and bounds, the bytes libpq reads from a connection's socket, for
// the wire budget. libpq keeps a row until all of it has arrived, even in
// single-row mode, and one PQconsumeInput keeps reading for as long as the
// server keeps sending (measured: 250 MB in one call for a 500 MB value), so
// neither finished rows nor the socket's backlog before and after a read bound
// what a wide value costs. Only refusing the read itself does.
//
// How: this library defines recv(2) for the process. libpq calls recv() to
// read its socket (also under TLS: its BIO reads through it), and the
// executable's definition comes first in symbol lookup. While a RecvLimit is
// live on a thread, recv() on that thread and that socket returns at most
// what is left of its allowance, then EAGAIN ("nothing to read now", which
// libpq takes in its stride); every other call passes straight to libc.
#pragma once

#include <cstdint>
#include <limits>

namespace fleetmcp::pg {

class RecvLimit {
 public:
  static constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();
  // Around one libpq call that may read `fd`, on the calling thread.
  RecvLimit(int fd, std::uint64_t allowance);
  ~RecvLimit();
  RecvLimit(const RecvLimit&) = delete;
  RecvLimit& operator=(const RecvLimit&) = delete;

  std::uint64_t taken() const { return taken_; }  // bytes read under this limit

  // recv()'s side, not for other callers.
  int fd_;
  std::uint64_t left_;
  std::uint64_t taken_ = 0;

 private:
  RecvLimit* outer_;
};

}  // namespace fleetmcp::pg
