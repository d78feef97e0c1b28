#include "core/nearest.hpp"

#include <algorithm>
#include <cctype>

namespace fleetmcp::core {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::size_t edit_distance(std::string_view a_in, std::string_view b_in) {
  const std::string a = lower(a_in), b = lower(b_in);
  // Three rows of the optimal-string-alignment table.
  std::vector<std::size_t> before(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) cur[j] = std::min(cur[j], before[j - 2] + 1);
    }
    std::swap(before, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::vector<std::string> nearest(std::string_view word, const std::vector<std::string>& candidates, std::size_t most) {
  const std::string w = lower(word);
  const std::size_t allowed = std::max<std::size_t>(1, w.size() / 3);
  std::vector<std::pair<std::size_t, const std::string*>> near;
  for (const auto& c : candidates) {
    const std::string lc = lower(c);
    std::size_t d = edit_distance(w, lc);
    // "vehicle" for "fleet_vehicles", "trip" for "v_trips": a name part.
    if (d > allowed && w.size() >= 3 &&
        (lc.find(w) != std::string::npos || (w.find(lc) != std::string::npos && lc.size() >= 3)))
      d = allowed;
    if (d <= allowed) near.emplace_back(d, &c);
  }
  std::stable_sort(near.begin(), near.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (const auto& [d, c] : near) {
    if (out.size() == most) break;
    if (std::find(out.begin(), out.end(), *c) == out.end()) out.push_back(*c);
  }
  return out;
}

std::string quoted_list(const std::vector<std::string>& names, std::string_view last_joiner) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) out += i + 1 == names.size() ? std::string(last_joiner) : std::string(", ");
    out += "'" + names[i] + "'";
  }
  return out;
}

}  // namespace fleetmcp::core
