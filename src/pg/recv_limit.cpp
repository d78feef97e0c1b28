#include "pg/recv_limit.hpp"

#include <dlfcn.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <algorithm>
#include <cerrno>

namespace fleetmcp::pg {
namespace {
thread_local RecvLimit* t_limit = nullptr;
}  // namespace

RecvLimit::RecvLimit(int fd, std::uint64_t allowance) : fd_(fd), left_(allowance), outer_(t_limit) { t_limit = this; }

RecvLimit::~RecvLimit() { t_limit = outer_; }

}  // namespace fleetmcp::pg

// libc's recv, found past our own definition.
static ssize_t libc_recv(int fd, void* buf, size_t len, int flags) {
  using Recv = ssize_t (*)(int, void*, size_t, int);
  static const Recv next = reinterpret_cast<Recv>(dlsym(RTLD_NEXT, "recv"));
  return next(fd, buf, len, flags);
}

extern "C" ssize_t recv(int fd, void* buf, size_t len, int flags) {
  fleetmcp::pg::RecvLimit* limit = fleetmcp::pg::t_limit;
  if (!limit || limit->fd_ != fd) return libc_recv(fd, buf, len, flags);
  if (limit->left_ == 0) {
    errno = EAGAIN;
    return -1;
  }
  len = static_cast<size_t>(std::min<std::uint64_t>(len, limit->left_));
  const ssize_t n = libc_recv(fd, buf, len, flags);
  if (n > 0) {
    limit->left_ -= static_cast<std::uint64_t>(n);
    limit->taken_ += static_cast<std::uint64_t>(n);
  }
  return n;
}
