#include "policy/policy.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace fleetmcp::policy {
namespace {

using core::ErrorKind;
using core::make_error;

constexpr std::size_t kCachedGrants = 4096;

core::Error bad(const std::string& where, const std::string& reason) {
  return make_error(ErrorKind::BadRequest, "MCP_POLICY_FILE " + where + ": " + reason);
}

std::string where(const std::string& origin, const toml::node& node) {
  const auto& source = node.source();
  return origin + ":" + std::to_string(source.begin.line);
}

bool plain_name(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return !std::isdigit(static_cast<unsigned char>(s[0]));
}

core::Result<std::vector<std::string>> names(const std::string& origin, const std::string& key, const toml::node& node,
                                             bool schemas) {
  const auto* array = node.as_array();
  if (!array) return bad(where(origin, node), key + " must be an array of names");
  std::vector<std::string> out;
  for (const auto& item : *array) {
    const auto* s = item.as_string();
    if (!s) return bad(where(origin, item), key + " must hold names in quotes");
    const std::string name = s->get();
    if (schemas ? !plain_name(name) : (name.empty() || name.size() > 63))
      return bad(where(origin, item), "'" + name + "' is not a " + (schemas ? "plain schema" : "column") + " name");
    out.push_back(schemas ? name : [&] {
      std::string lower = name;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return lower;
    }());
  }
  if (schemas && out.empty()) return bad(where(origin, node), "schemas must name at least one schema");
  return out;
}

core::Result<int> whole(const std::string& origin, const std::string& key, const toml::node& node, long long lo,
                        long long hi) {
  const auto* n = node.as_integer();
  if (!n) return bad(where(origin, node), key + " must be a whole number");
  if (n->get() < lo || n->get() > hi)
    return bad(where(origin, node), key + " = " + std::to_string(n->get()) + " is out of range " + std::to_string(lo) +
                                        ".." + std::to_string(hi));
  return static_cast<int>(n->get());
}

// One [defaults], [groups.NAME] or [analysts.NAME] table. Unknown keys are
// errors: a misspelt key must not silently leave an analyst the defaults.
core::Result<Rules> read_rules(const std::string& origin, const toml::table& table) {
  Rules r;
  for (const auto& [k, node] : table) {
    const std::string key(k.str());
    if (key == "schemas" || key == "sensitive_columns") {
      auto list = names(origin, key, node, key == "schemas");
      if (!list) return list.error();
      (key == "schemas" ? r.schemas : r.sensitive_columns) = std::move(*list);
    } else if (key == "max_rows" || key == "statement_timeout_ms" || key == "calls_per_minute" ||
               key == "concurrent_calls") {
      const long long hi = key == "max_rows"               ? 1000000
                           : key == "statement_timeout_ms" ? 86400000
                           : key == "calls_per_minute"     ? 1000000
                                                           : 1000;
      auto n = whole(origin, key, node, 1, hi);
      if (!n) return n.error();
      (key == "max_rows"               ? r.max_rows
       : key == "statement_timeout_ms" ? r.statement_timeout_ms
       : key == "calls_per_minute"     ? r.calls_per_minute
                                       : r.concurrent_calls) = *n;
    } else if (key == "role") {
      const auto* s = node.as_string();
      if (!s || s->get().empty() || s->get().size() > 63 || s->get().find('\0') != std::string::npos)
        return bad(where(origin, node), "role must be a PostgreSQL role name in quotes");
      r.role = s->get();
    } else {
      return bad(where(origin, node), "unknown key '" + key +
                                          "' (known: schemas, sensitive_columns, max_rows, statement_timeout_ms, "
                                          "calls_per_minute, concurrent_calls, role)");
    }
  }
  return r;
}

core::Status read_entries(const std::string& origin, const toml::node& node, const std::string& section,
                          std::map<std::string, Rules>& into) {
  const auto* table = node.as_table();
  if (!table) return bad(where(origin, node), "[" + section + "] must hold tables: [" + section + ".NAME]");
  for (const auto& [name, entry] : *table) {
    const auto* rules_table = entry.as_table();
    if (!rules_table)
      return bad(where(origin, entry), section + "." + std::string(name.str()) + " must be a table of keys");
    auto rules = read_rules(origin, *rules_table);
    if (!rules) return rules.error();
    into.emplace(std::string(name.str()), std::move(*rules));
  }
  return core::ok_status();
}

}  // namespace

Book::Book(config::Config server) : server_(std::move(server)) {}

Book::Book(Book&& other) noexcept
    : server_(std::move(other.server_)),
      defaults_(std::move(other.defaults_)),
      groups_(std::move(other.groups_)),
      analysts_(std::move(other.analysts_)) {}

core::Result<Book> Book::parse(std::string_view text, const std::string& origin, const config::Config& server) {
  toml::table parsed;
  try {  // (toml++ built with exceptions reports syntax errors by throwing)
    parsed = toml::parse(text, origin);
  } catch (const toml::parse_error& error) {
    return bad(origin + ":" + std::to_string(error.source().begin.line), std::string(error.description()));
  }
  Book book(server);
  for (const auto& [k, node] : parsed) {
    const std::string key(k.str());
    if (key == "defaults") {
      const auto* table = node.as_table();
      if (!table) return bad(where(origin, node), "[defaults] must be a table of keys");
      auto rules = read_rules(origin, *table);
      if (!rules) return rules.error();
      book.defaults_ = std::move(*rules);
    } else if (key == "groups" || key == "analysts") {
      if (auto st = read_entries(origin, node, key, key == "groups" ? book.groups_ : book.analysts_); !st)
        return st.error();
    } else {
      return bad(where(origin, node), "unknown section [" + key + "] (known: defaults, groups, analysts)");
    }
  }
  return book;
}

core::Result<Book> Book::load(const std::string& path, const config::Config& server) {
  std::ifstream in(path);
  if (!in) return bad(path, "cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path, server);
}

std::shared_ptr<const Grant> Book::grant(const std::string& analyst, const std::vector<std::string>& groups) const {
  std::string key = analyst;
  for (const auto& g : groups) key += '\0' + g;
  std::lock_guard lock(mu_);
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  if (cache_.size() >= kCachedGrants) cache_.clear();
  return cache_.emplace(std::move(key), resolve(analyst, groups)).first->second;
}

std::shared_ptr<const Grant> Book::resolve(const std::string& analyst, const std::vector<std::string>& groups) const {
  // The entries that apply, most specific first.
  std::vector<std::pair<std::string, const Rules*>> chain;
  if (auto it = analysts_.find(analyst); it != analysts_.end()) chain.emplace_back("analyst:" + analyst, &it->second);
  for (const auto& [name, rules] : groups_)
    if (std::find(groups.begin(), groups.end(), name) != groups.end()) chain.emplace_back("group:" + name, &rules);
  chain.emplace_back("defaults", &defaults_);

  auto g = std::make_shared<Grant>();
  g->config = server_;
  g->calls_per_minute = server_.calls_per_minute;
  g->concurrent_calls = server_.concurrent_limit();
  auto first = [&](auto member) -> const Rules* {
    for (const auto& [name, rules] : chain)
      if ((rules->*member).has_value()) return rules;
    return nullptr;
  };
  std::vector<const Rules*> used;
  auto take = [&](auto member, auto& into) {
    if (const Rules* r = first(member)) {
      into = *(r->*member);
      used.push_back(r);
    }
  };
  take(&Rules::schemas, g->config.readable_schemas);
  take(&Rules::max_rows, g->config.max_rows);
  take(&Rules::statement_timeout_ms, g->config.statement_timeout_ms);
  take(&Rules::calls_per_minute, g->calls_per_minute);
  take(&Rules::concurrent_calls, g->concurrent_calls);
  take(&Rules::role, g->role);
  // Sensitive columns add up: no entry can make a column the server hides readable.
  for (const auto& [name, rules] : chain)
    if (rules->sensitive_columns) {
      used.push_back(rules);
      for (const auto& col : *rules->sensitive_columns)
        if (std::find(g->config.redact_columns.begin(), g->config.redact_columns.end(), col) ==
            g->config.redact_columns.end())
          g->config.redact_columns.push_back(col);
    }
  for (const auto& [name, rules] : chain)
    if (std::find(used.begin(), used.end(), rules) != used.end()) g->source += (g->source.empty() ? "" : "+") + name;
  if (g->source.empty()) g->source = "server";
  return g;
}

std::vector<std::shared_ptr<const Grant>> Book::role_grants() const {
  std::vector<std::shared_ptr<const Grant>> out;
  std::vector<std::string> seen;
  auto add = [&](const std::shared_ptr<const Grant>& g) {
    if (g->role.empty() || std::find(seen.begin(), seen.end(), g->role) != seen.end()) return;
    seen.push_back(g->role);
    out.push_back(g);
  };
  add(resolve("", {}));
  for (const auto& [name, rules] : groups_) add(resolve("", {name}));
  for (const auto& [name, rules] : analysts_) add(resolve(name, {}));
  return out;
}

}  // namespace fleetmcp::policy
