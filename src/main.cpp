// fleetmcp: the subcommands are in src/cli.
#include <pthread.h>

#include <string>
#include <vector>

#include "cli/cli.hpp"

int main(int argc, char** argv) {
  // Every thread gets 16 MB of stack (reserved, touched only as used): the
  // SQL guard's bound on a statement (64 KiB) needs about 4 MB at worst, and
  // a smaller RLIMIT_STACK must not make that a crash.
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) == 0) {
    pthread_attr_setstacksize(&attr, 16 << 20);
    pthread_setattr_default_np(&attr);
    pthread_attr_destroy(&attr);
  }
  return fleetmcp::cli::run(std::vector<std::string>(argv + 1, argv + argc));
}
