#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>

#include "cli/cli.hpp"
#include "ops/tokens.hpp"

namespace fleetmcp::cli {

namespace {

bool write_all(int fd, const std::string& data) {
  for (std::size_t done = 0; done < data.size();) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

// token new: a token for NAME and the whole MCP_AUTH_TOKENS list with it, read
// from the environment, else from --config FILE. A list it cannot see is never
// printed as a one-entry line: pasted, that would revoke everyone else.
int token_new(const std::vector<std::string>& args, const std::string& config_path) {
  bool write = false;
  std::vector<std::string> rest;
  for (const auto& a : args) {
    if (a == "--write")
      write = true;
    else
      rest.push_back(a);
  }
  if (rest.size() != 3 || rest[1] != "new") return fail("usage: fleetmcp token new NAME [--config FILE [--write]]");
  const std::string& name = rest[2];
  if (name.empty() || name.find_first_of(":, \t") != std::string::npos)
    return fail("token new: NAME must not be empty or contain ':', ',' or spaces");
  if (write && config_path.empty()) return fail("token new: --write edits the file named by --config FILE");
  std::optional<std::string> current;
  if (!config_path.empty()) {
    auto values = config::read_config_file(config_path);
    if (!values) return fail(values.error().message);
    if (auto it = values->find("MCP_AUTH_TOKENS"); it != values->end())
      current = it->second;
    else
      current = "";  // the file is the whole configuration: no tokens yet
  }
  const char* environment = std::getenv("MCP_AUTH_TOKENS");
  if (environment && !write) current = environment;  // as for serve: the environment wins
  if (environment && write)
    std::fputs("fleetmcp: note: MCP_AUTH_TOKENS is also set in the environment, which wins over the file\n", stderr);

  const std::string token = ops::new_token();
  std::printf("token for %s: %s\n", name.c_str(), token.c_str());
  if (!current) {
    std::printf("entry: %s:%s\n", name.c_str(), token.c_str());
    std::fprintf(stderr,
                 "Add the entry to MCP_AUTH_TOKENS beside the others (comma-separated; an entry for %s "
                 "replaces the old one) and restart fleetmcp. With --config FILE (or MCP_AUTH_TOKENS set) "
                 "this prints the whole line; --write edits the file.\n",
                 name.c_str());
    return 0;
  }
  const std::string line = ops::tokens_with(*current, name, token);
  if (!write) {
    std::printf("MCP_AUTH_TOKENS=%s\n", line.c_str());
    std::fprintf(stderr,
                 "Set the line above where fleetmcp reads its environment and restart it; "
                 "hand the token to %s privately.\n",
                 name.c_str());
    return 0;
  }
  // The file is replaced whole (a temporary beside it, renamed over it) with its mode kept.
  std::ifstream in(config_path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  struct stat st {};
  if (!in || stat(config_path.c_str(), &st) != 0) return fail("token new: cannot read " + config_path);
  std::string temporary = config_path + ".XXXXXX";
  const int fd = mkstemp(temporary.data());
  if (fd < 0) return fail("token new: cannot write beside " + config_path + ": " + std::strerror(errno));
  const std::string updated = ops::with_setting(text, "MCP_AUTH_TOKENS", line);
  const bool written = fchmod(fd, st.st_mode & 07777) == 0 && fchown(fd, st.st_uid, st.st_gid) == 0 &&
                       write_all(fd, updated) && fsync(fd) == 0;
  close(fd);
  if (!written || rename(temporary.c_str(), config_path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    unlink(temporary.c_str());
    return fail("token new: cannot update " + config_path + ": " + reason);
  }
  std::fprintf(stderr,
               "Wrote MCP_AUTH_TOKENS (%s and the others) to %s; restart fleetmcp, then hand the token "
               "to %s privately.\n",
               name.c_str(), config_path.c_str(), name.c_str());
  return 0;
}

}  // namespace fleetmcp::cli
