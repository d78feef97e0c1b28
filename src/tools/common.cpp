#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <chrono>
#include <optional>

#include "json/rows.hpp"
#include "json/writer.hpp"
#include "sql/guard.hpp"
#include "tools/tool.hpp"

namespace fleetmcp::tools {

using boost::asio::awaitable;
using core::ErrorKind;
using core::make_error;

namespace {

// Right after start the catalog may still be loading: wait for it (up to the
// connect timeout) rather than refuse the first calls. The guard refuses to
// judge by less than the live catalog either way.
awaitable<void> catalog_loaded(CallContext& ctx) {
  if (!ctx.policy.catalog) co_return;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ctx.config.connect_timeout_ms);
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  auto refused = [&] {
    auto why = ctx.policy.catalog->last_error();
    return why && why->kind == core::ErrorKind::Denied;  // no wait changes a refusal
  };
  while (!ctx.policy.catalog->current()->live && std::chrono::steady_clock::now() < deadline &&
         !(ctx.cancel && ctx.cancel->cancelled()) && !refused()) {
    timer.expires_after(std::chrono::milliseconds(20));
    boost::system::error_code ec;
    co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
}

// The cursor's name and the prefix before the analyst's statement; error
// positions from PostgreSQL are shifted back by the prefix's length.
constexpr std::string_view kDeclarePrefix = "DECLARE fleetmcp_rows NO SCROLL CURSOR FOR ";
}  // namespace

core::Result<std::string> string_arg(const json& args, const char* name,
                                     std::optional<std::string> fallback) {
  auto it = args.find(name);
  if (it == args.end() || it->is_null()) {
    if (fallback) return *fallback;
    return make_error(ErrorKind::BadRequest, std::string("missing required argument '") + name + "'");
  }
  if (!it->is_string())
    return make_error(ErrorKind::BadRequest, std::string("argument '") + name + "' must be a string");
  return it->get<std::string>();
}

core::Result<long long> integer_arg(const json& args, const char* name, long long fallback) {
  auto it = args.find(name);
  if (it == args.end() || it->is_null()) return fallback;
  if (it->is_number_integer()) return it->get<long long>();
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (d == static_cast<double>(static_cast<long long>(d))) return static_cast<long long>(d);
  }
  return make_error(ErrorKind::BadRequest, std::string("argument '") + name + "' must be an integer");
}

sql::Policy policy_from(const config::Config& config, const catalog::Store* catalog) {
  return {config.enforce_schemas, config.readable_schemas, config.redact_columns, catalog};
}

core::Status check_readable_schema(const config::Config& config, const std::string& schema) {
  const auto& allowed = config.readable_schemas;
  if (std::find(allowed.begin(), allowed.end(), schema) != allowed.end()) return core::ok_status();
  std::string list;
  for (const auto& s : allowed) list += (list.empty() ? "" : ", ") + s;
  return make_error(ErrorKind::BadRequest,
                    "schema '" + schema + "' is not readable here; readable schemas: " + list);
}

awaitable<core::Result<Output>> catalog_rows(CallContext& ctx, std::string sql,
                                             std::vector<std::string> params) {
  pg::Plan plan;
  plan.statements.push_back({std::move(sql), std::move(params)});
  auto ran = co_await ctx.db.run(std::move(plan), ctx.cancel);
  if (!ran) co_return ran.error();
  const PGresult* result = ran->results.at(0).get();
  Output out;
  out.structured = "{\"result\":";
  const int rows = fleetmcp::json::append_rows(out.structured, result, PQntuples(result),
                                               fleetmcp::json::describe_columns(result));
  out.structured += "}";
  ctx.record.rows = rows;
  co_return out;
}

awaitable<core::Result<Output>> guarded_rows(CallContext& ctx, const std::string& sql,
                                             long long max_rows) {
  const long long cap = std::clamp<long long>(max_rows, 1, ctx.config.max_rows);
  co_await catalog_loaded(ctx);
  auto validated = sql::validate(sql, ctx.policy);
  if (!validated) co_return validated.error();
  ctx.record.fingerprint = validated->fingerprint;

  // The rows are sent twice (structuredContent, and escaped in the text, at
  // most twice as long): a third of the response limit keeps the whole reply
  // under MCP_MAX_RESPONSE_BYTES.
  const std::size_t budget = (ctx.config.max_response_bytes - 4096) / 3;
  // By name, and by the table column a value comes from (a sensitive column
  // renamed through a subquery or CTE is still that column).
  const auto catalog = ctx.policy.catalog ? ctx.policy.catalog->current() : catalog::builtin();
  const auto hide = [&](std::string_view column, unsigned table, int table_column) {
    return sql::is_redacted_column(ctx.policy, *catalog, column, table, table_column);
  };
  std::optional<fleetmcp::json::Columns> columns;
  std::string rows = "[";
  long long count = 0;
  bool truncated = false, cut_for_size = false;
  auto add_row = [&](const PGresult* result, int row) {
    if (ctx.rows_fetched) ctx.rows_fetched->fetch_add(1, std::memory_order_relaxed);
    if (!columns) columns = fleetmcp::json::describe_columns(result, hide);
    if (count >= cap || cut_for_size) {
      truncated = true;
      return;
    }
    const std::size_t before = rows.size();
    if (count) rows.push_back(',');
    fleetmcp::json::append_row(rows, result, row, *columns);
    if (rows.size() > budget) {
      rows.resize(before);
      truncated = cut_for_size = true;
      return;
    }
    ++count;
  };

  // A SELECT runs through a cursor whose FETCH streams row by row; EXPLAIN and
  // SHOW (which a cursor cannot hold) run directly and are small.
  const bool cursor = validated->kind == sql::StatementKind::Select;
  // Only a cursor's DECLARE shifts PostgreSQL's error positions.
  const std::string prefix = cursor ? std::string(kDeclarePrefix) : std::string();
  pg::Plan plan;
  plan.statements.push_back({prefix + validated->text, {}});
  if (cursor) {
    plan.statements.push_back({"FETCH FORWARD " + std::to_string(cap + 1) + " FROM fleetmcp_rows", {}});
    plan.stream_statement = 1;
    plan.on_row = [&](const PGresult* row) { add_row(row, 0); };
  }
  auto ran = co_await ctx.db.run(std::move(plan), ctx.cancel);
  if (!ran) {
    core::Error e = ran.error();
    // Map PostgreSQL's position in the text it ran back into the analyst's SQL.
    if (e.position > 0) {
      const int shifted = e.position - static_cast<int>(prefix.size()) + validated->start_position - 1;
      e.position = shifted > 0 ? shifted : 0;
    }
    co_return e;
  }
  if (ran->cut_at_read_limit) {
    // PostgreSQL sent more than the response limit before the rows ended; the
    // database layer stopped reading. Rows before the cut stand.
    if (count == 0 && !columns)
      co_return make_error(ErrorKind::Denied,
                           "the first row alone is larger than the server's response limit "
                           "(MCP_MAX_RESPONSE_BYTES = " + std::to_string(ctx.config.max_response_bytes) +
                               " bytes), so the server stopped reading it: select fewer or narrower columns, "
                               "or cut wide values with left(column, 1000) or substring(column from 1 for 1000)");
    truncated = cut_for_size = true;
  } else {
    const PGresult* last = ran->results.back().get();
    if (!cursor)
      for (int r = 0; r < PQntuples(last); ++r) add_row(last, r);
    if (!columns) columns = fleetmcp::json::describe_columns(last, hide);  // no rows: still name the hidden
  }
  rows.push_back(']');

  Output out;
  out.structured.reserve(rows.size() + 256);
  out.structured = "{\"row_count\":" + std::to_string(count) +
                   ",\"truncated\":" + (truncated ? "true" : "false") + ",\"rows\":";
  out.structured += rows;
  if (!columns->hidden_names.empty()) {
    out.structured += ",\"redacted_columns\":[";
    for (std::size_t i = 0; i < columns->hidden_names.size(); ++i) {
      if (i) out.structured += ",";
      fleetmcp::json::append_string(out.structured, columns->hidden_names[i]);
    }
    out.structured += "]";
  }
  if (cut_for_size)
    out.structured += ",\"note\":\"cut at " + std::to_string(count) +
                      " rows: more would exceed the server's response limit (MCP_MAX_RESPONSE_BYTES = " +
                      std::to_string(ctx.config.max_response_bytes) +
                      " bytes); select fewer columns, aggregate, or page with a WHERE on a key\"";
  out.structured += "}";
  ctx.record.rows = count;
  ctx.record.truncated = truncated;
  co_return out;
}

json rows_output_schema() {
  return {{"type", "object"},
          {"properties",
           {{"row_count", {{"type", "integer"}, {"description", "rows returned"}}},
            {"truncated",
             {{"type", "boolean"},
              {"description", "true when the statement had more rows than max_rows"}}},
            {"rows",
             {{"type", "array"},
              {"items", {{"type", "object"}}},
              {"description", "one object per row, keyed by column name"}}},
            {"redacted_columns",
             {{"type", "array"},
              {"items", {{"type", "string"}}},
              {"description", "sensitive columns left out of rows (only when there were any)"}}},
            {"note",
             {{"type", "string"},
              {"description", "why the rows were cut before max_rows (only when they were)"}}}}},
          {"required", {"row_count", "truncated", "rows"}}};
}

json list_output_schema(const json& item_properties) {
  return {{"type", "object"},
          {"properties",
           {{"result",
             {{"type", "array"},
              {"items", {{"type", "object"}, {"properties", item_properties}}}}}}},
          {"required", {"result"}}};
}

}  // namespace fleetmcp::tools
