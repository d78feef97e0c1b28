#include "tools/name_hints.hpp"

#include "catalog/relations.hpp"

#include <algorithm>

#include "core/nearest.hpp"
#include "pg/params.hpp"
#include "pg/sqlstate.hpp"

namespace fleetmcp::tools {
namespace {

// The first double-quoted name in PostgreSQL's message, without its schema:
// relation "tracksolid.vehicle" does not exist -> vehicle.
std::string quoted_name(const std::string& message) {
  const auto open = message.find('"');
  if (open == std::string::npos) return "";
  const auto close = message.find('"', open + 1);
  if (close == std::string::npos) return "";
  std::string name = message.substr(open + 1, close - open - 1);
  if (const auto dot = name.rfind('.'); dot != std::string::npos) name = name.substr(dot + 1);
  return name;
}

// function fuel.fn_x(integer) does not exist -> fn_x
std::string function_name(const std::string& message) {
  constexpr std::string_view kPrefix = "function ";
  if (message.rfind(kPrefix, 0) != 0) return "";
  const auto paren = message.find('(', kPrefix.size());
  if (paren == std::string::npos) return "";
  std::string name = message.substr(kPrefix.size(), paren - kPrefix.size());
  if (const auto dot = name.rfind('.'); dot != std::string::npos) name = name.substr(dot + 1);
  if (name.size() > 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
  return name;
}

// One column of names from a catalog statement ($1: the readable schemas;
// each statement stops at 50,000 names, so a huge catalog costs an error
// bounded work).
boost::asio::awaitable<std::vector<std::string>> names(CallContext& ctx, const char* sql) {
  pg::Plan plan = caller_plan(ctx);
  std::vector<std::string> params{pg::text_array(ctx.config.readable_schemas)};
  plan.statements.push_back({sql, std::move(params)});
  auto ran = co_await ctx.db.run(std::move(plan), ctx.cancel);
  std::vector<std::string> out;
  if (!ran) co_return out;
  const PGresult* r = ran->results.at(0).get();
  for (int i = 0; r && i < PQntuples(r); ++i) out.emplace_back(PQgetvalue(r, i, 0));
  co_return out;
}

// Qualified names ("schema.table", "schema.table.column") whose last part is
// near `missing`: compared by their own name, offered whole.
std::vector<std::string> near_by_last_part(const std::string& missing, const std::vector<std::string>& qualified) {
  std::vector<std::string> bare;
  for (const auto& q : qualified) bare.push_back(q.substr(q.rfind('.') + 1));
  std::vector<std::string> offer;
  for (const auto& near : core::nearest(missing, bare, 3))
    for (std::size_t i = 0; i < bare.size(); ++i)
      if (bare[i] == near && offer.size() < 4) offer.push_back(qualified[i]);
  return offer;
}

void append(core::Error& e, const std::string& line) { e.detail += (e.detail.empty() ? "" : "\n") + line; }

}  // namespace

boost::asio::awaitable<void> add_name_hints(CallContext& ctx, core::Error& e) {
  if (e.kind != core::ErrorKind::DbError) co_return;
  if (e.sqlstate == pg::kUndefinedTable) {
    const std::string missing = quoted_name(e.message);
    if (missing.empty()) co_return;
    auto relations = co_await names(ctx,
                                    "SELECT n.nspname || '.' || c.relname FROM pg_catalog.pg_class c "
                                    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                                    "WHERE " FLEETMCP_READABLE_RELATION
                                    " AND n.nspname = ANY($1::text[]) "
                                    "ORDER BY 1 LIMIT 50000");
    if (relations.empty()) co_return;
    if (const auto offer = near_by_last_part(missing, relations); !offer.empty()) {
      append(e, "Did you mean " + core::quoted_list(offer) + "? Qualify names with their schema.");
    } else {
      relations.resize(std::min<std::size_t>(relations.size(), 12));
      append(e, "Readable relations include " + core::quoted_list(relations, " and ") + ".");
    }
  } else if (e.sqlstate == pg::kUndefinedColumn) {
    if (e.detail.find("Perhaps you meant") != std::string::npos) co_return;  // PostgreSQL's own
    const std::string missing = quoted_name(e.message);
    if (missing.empty()) co_return;
    // Not in the statement's relations (else PostgreSQL would have hinted):
    // where a column of that name lives.
    auto columns =
        co_await names(ctx,
                       "SELECT n.nspname || '.' || c.relname || '.' || a.attname FROM pg_catalog.pg_attribute a "
                       "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
                       "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN " FLEETMCP_RELKINDS
                       " "
                       "AND n.nspname = ANY($1::text[]) "
                       "AND " FLEETMCP_READABLE_COLUMN " ORDER BY 1 LIMIT 50000");
    if (const auto offer = near_by_last_part(missing, columns); !offer.empty())
      append(e, "Readable columns with a similar name: " + core::quoted_list(offer) +
                    " (join or select from that relation).");
  } else if (e.sqlstate == pg::kUndefinedFunction) {
    const std::string missing = function_name(e.message);
    if (missing.empty() || !ctx.policy.catalog) co_return;
    const auto catalog = ctx.policy.catalog->current();
    std::vector<std::string> signatures;
    if (const auto it = catalog->functions.find(missing); it != catalog->functions.end())
      for (const auto& f : it->second)
        if (signatures.size() < 8) signatures.push_back(f.signature());
    if (!signatures.empty()) {
      append(e, "Its signatures: " + core::quoted_list(signatures, " and ") + ".");
    } else {
      std::vector<std::string> all;
      for (const auto& [name, _] : catalog->functions) all.push_back(name);
      std::sort(all.begin(), all.end());
      if (const auto near = core::nearest(missing, all, 3); !near.empty())
        append(e, "Functions with a similar name: " + core::quoted_list(near) + ".");
    }
  }
}

}  // namespace fleetmcp::tools
