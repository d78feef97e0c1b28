#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cmath>
#include <optional>

#include "json/bounded.hpp"
#include "json/csv.hpp"
#include "json/rows.hpp"
#include "json/writer.hpp"
#include "sql/guard.hpp"
#include "tools/name_hints.hpp"
#include "tools/tool.hpp"

namespace fleetmcp::tools {

using boost::asio::awaitable;
using core::ErrorKind;
using core::make_error;

namespace {

// The cursor's name and the prefix before the analyst's statement; error
// positions from PostgreSQL are shifted back by the prefix's length.
constexpr std::string_view kDeclarePrefix = "DECLARE fleetmcp_rows NO SCROLL CURSOR FOR ";
}  // namespace

core::Result<std::string> string_arg(const json& args, const char* name, std::optional<std::string> fallback) {
  auto it = args.find(name);
  if (it == args.end() || it->is_null()) {
    if (fallback) return *fallback;
    return make_error(ErrorKind::BadRequest, std::string("missing required argument '") + name + "'");
  }
  if (!it->is_string())
    return make_error(ErrorKind::BadRequest, std::string("argument '") + name + "' must be a string");
  return it->get<std::string>();
}

core::Result<std::string> name_arg(const json& args, const char* name, std::optional<std::string> fallback) {
  auto value = string_arg(args, name, std::move(fallback));
  // libpq passes parameters as C strings: a zero byte would silently cut the
  // name, and another relation than the one asked (and audited) would answer.
  if (value && value->find('\0') != std::string::npos)
    return make_error(ErrorKind::BadRequest, std::string("argument '") + name +
                                                 "' contains a zero byte (\\u0000), which no PostgreSQL name holds");
  return value;
}

core::Result<long long> integer_arg(const json& args, const char* name, long long fallback) {
  auto it = args.find(name);
  if (it == args.end() || it->is_null()) return fallback;
  if (auto n = fleetmcp::json::whole_number(*it)) return *n;
  return make_error(ErrorKind::BadRequest, std::string("argument '") + name + "' must be an integer");
}

core::Status check_readable_schema(const config::Config& config, const std::string& schema) {
  const auto& allowed = config.readable_schemas;
  if (std::find(allowed.begin(), allowed.end(), schema) != allowed.end()) return core::ok_status();
  std::string list;
  for (const auto& s : allowed) list += (list.empty() ? "" : ", ") + s;
  return make_error(ErrorKind::BadRequest, "schema '" + schema + "' is not readable here; readable schemas: " + list);
}

pg::Plan caller_plan(const CallContext& ctx) {
  pg::Plan plan;
  plan.statement_timeout_ms = ctx.config.statement_timeout_ms;
  plan.as = ctx.as;
  return plan;
}

awaitable<core::Result<Output>> catalog_rows(CallContext& ctx, std::string sql, std::vector<std::string> params) {
  pg::Plan plan = caller_plan(ctx);
  plan.statements.push_back({std::move(sql), std::move(params)});
  auto ran = co_await ctx.db.run(std::move(plan), ctx.cancel);
  if (!ran) co_return ran.error();
  const PGresult* result = ran->results.at(0).get();
  Output out;
  out.structured = "{\"result\":";
  const int rows =
      fleetmcp::json::append_rows(out.structured, result, PQntuples(result), fleetmcp::json::describe_columns(result));
  out.structured += "}";
  ctx.record.rows = rows;
  co_return out;
}

namespace {

// Which limit stopped the rows first.
enum class Cut { None, MaxRows, Text, Reply };

std::string_view cut_name(Cut cut) {
  switch (cut) {
    case Cut::MaxRows: return "max_rows";
    case Cut::Text: return "text_budget";
    case Cut::Reply: return "response_bytes";
    case Cut::None: break;
  }
  return "";
}

// The text or reply limit, as the notes and errors name it.
std::string limit_name(Cut cut, const config::Config& config) {
  if (cut == Cut::Text)
    return "the text limit for a model (MCP_MAX_TEXT_TOKENS = " + std::to_string(config.max_text_tokens) + ", " +
           std::to_string(config.text_budget_bytes()) + " bytes)";
  return "the server's response limit (MCP_MAX_RESPONSE_BYTES = " + std::to_string(config.max_response_bytes) +
         " bytes)";
}

constexpr const char* kNarrower = "select fewer or narrower columns, or cut wide values with left(column, 1000)";

// Why the rows stopped and how to ask for what is missing; empty when nothing was cut.
std::string cut_note(Cut cut, long long cap, long long rows, const config::Config& config) {
  const std::string narrow =
      "aggregate or filter in SQL, select fewer columns, or page with "
      "WHERE <key> > <last key> ORDER BY <key>";
  switch (cut) {
    case Cut::None: return "";
    case Cut::MaxRows:
      return "more rows exist: cut at max_rows = " + std::to_string(cap) +
             (cap < config.max_rows ? " (up to " + std::to_string(config.max_rows) + " may be asked for)"
                                    : " (the server's ceiling, MCP_MAX_ROWS)") +
             "; " + narrow;
    case Cut::Text:
    case Cut::Reply:
      // No row fit: paging would not help, narrower rows would.
      if (rows == 0) return "the first row alone is wider than " + limit_name(cut, config) + ": " + kNarrower;
      return "more rows exist: cut at " + limit_name(cut, config) + "; " + narrow;
  }
  return "";
}

// The periods of the relations a statement reads, where known: what an empty
// answer to a date filter most often means.
std::string coverage_read(const catalog::Catalog& catalog, const sql::ValidatedStatement& statement) {
  std::vector<const catalog::Coverage*> read;
  for (const auto& name : statement.qualified_relations) {
    const auto dot = name.find('.');
    if (const auto* c = catalog.coverage_of(name.substr(0, dot), name.substr(dot + 1))) read.push_back(c);
  }
  for (const auto& name : statement.unqualified_relations)
    for (const auto& schema : catalog.search_path)
      if (const auto* c = catalog.coverage_of(schema, name)) {
        read.push_back(c);
        break;
      }
  std::string out;
  for (const auto* c : read)
    out += (out.empty() ? "" : "; ") + c->schema + "." + c->relation + "." + catalog::describe(*c);
  return out;
}

}  // namespace

awaitable<void> wait_for_catalog(const sql::Policy& policy, int timeout_ms, const core::CancelPtr& cancel) {
  if (!policy.catalog) co_return;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  while (!policy.catalog->current()->live && std::chrono::steady_clock::now() < deadline &&
         !(cancel && cancel->cancelled()) && !policy.catalog->refusal()) {
    timer.expires_after(std::chrono::milliseconds(20));
    boost::system::error_code ec;
    co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
}

awaitable<core::Result<Output>> guarded_rows(CallContext& ctx, const std::string& sql, long long max_rows,
                                             const std::vector<std::string>* never_selected) {
  const long long cap = std::clamp<long long>(max_rows, 1, ctx.config.max_rows);
  co_await wait_for_catalog(ctx.policy, ctx.config.connect_timeout_ms, ctx.cancel);
  auto validated = sql::validate(sql, ctx.policy);
  if (!validated) co_return validated.error();
  ctx.record.fingerprint = validated->fingerprint;
  if (ctx.statement_known) ctx.statement_known();

  // By name, and by the table column a value comes from (a sensitive column
  // renamed through a subquery or CTE is still that column).
  const auto catalog = ctx.policy.catalog ? ctx.policy.catalog->current() : catalog::builtin();
  const auto hide = [&](std::string_view column, unsigned table, int table_column) {
    return sql::is_redacted_column(ctx.policy, *catalog, column, table, table_column);
  };
  // Every row goes out twice: as an object in structuredContent, for
  // programs, and as a CSV line in the text, for the model. Both stop at the
  // same row: the first that would pass max_rows, the text budget or the
  // response limit (the footer's room kept free).
  constexpr std::size_t kFooterRoom = 700;
  const std::size_t text_budget = ctx.config.text_budget_bytes();
  const std::size_t reply_budget = ctx.config.max_response_bytes - 4096;
  std::optional<fleetmcp::json::Columns> columns;
  // structuredContent is written in place, rows first (the counts are known
  // only at the end): the rows are never copied.
  Output out;
  std::string& rows = out.structured;
  std::string& text = out.escaped_text;
  rows = "{\"rows\":[";
  std::vector<fleetmcp::json::Value> values;  // one row's, reused
  long long count = 0;
  Cut cut = Cut::None;
  auto describe = [&](const PGresult* result) {
    columns = fleetmcp::json::describe_columns(result, hide);
    fleetmcp::json::append_csv_header(text, *columns);
  };
  // The header line counts against the text budget like any row: names alone
  // past it are refused rather than sent over the limit.
  auto header_too_long = [&] {
    return make_error(ErrorKind::Denied, "the result's column names alone take " + std::to_string(text.size()) +
                                             " bytes of " + limit_name(Cut::Text, ctx.config) +
                                             ": select fewer columns or give them shorter names");
  };
  auto add_row = [&](const PGresult* result, int row) {
    if (ctx.rows_fetched) ctx.rows_fetched->fetch_add(1, std::memory_order_relaxed);
    if (!columns) describe(result);
    if (cut != Cut::None) return;
    if (count >= cap) {
      cut = Cut::MaxRows;
      return;
    }
    const std::size_t rows_before = rows.size(), text_before = text.size();
    if (count) rows.push_back(',');
    fleetmcp::json::read_row(result, row, values);
    fleetmcp::json::append_object_and_csv_line(rows, text, values, *columns);
    if (count == 0) {
      // Room for as many rows like the first as the limits allow, so the
      // buffers do not grow (and copy) by doubling.
      const std::size_t row_bytes = rows.size() - rows_before + 1, line_bytes = text.size() - text_before + 1;
      const std::size_t fit = std::min<std::size_t>(
          {static_cast<std::size_t>(cap), text_budget / line_bytes + 1, reply_budget / (row_bytes + line_bytes) + 1});
      // The rows' buffer becomes the reply (see Dispatcher::call_tool): room
      // for the text too, and a quarter more for rows longer than the first.
      rows.reserve(std::min(ctx.config.max_response_bytes, fit * (row_bytes + line_bytes) * 5 / 4 + 4096));
      text.reserve(std::min(text_budget, fit * line_bytes * 5 / 4 + kFooterRoom));
    }
    const bool over_text = text.size() + kFooterRoom > text_budget;
    if (over_text || rows.size() + text.size() + kFooterRoom > reply_budget) {
      rows.resize(rows_before);
      text.resize(text_before);
      cut = over_text ? Cut::Text : Cut::Reply;
      return;
    }
    ++count;
  };

  // A SELECT runs through a cursor whose FETCH caps the rows (its result comes
  // at once, or row by row past the read limit: Plan::rows_at_once); EXPLAIN
  // and SHOW (which a cursor cannot hold) run directly and are small.
  const bool cursor = validated->kind == sql::StatementKind::Select;
  // Only a cursor's DECLARE shifts PostgreSQL's error positions.
  const std::string prefix = cursor ? std::string(kDeclarePrefix) : std::string();
  pg::Plan plan = caller_plan(ctx);
  plan.statements.push_back({prefix + validated->text, {}});
  if (cursor) {
    plan.statements.push_back({"FETCH FORWARD " + std::to_string(cap + 1) + " FROM fleetmcp_rows", {}});
    plan.stream_statement = 1;
    plan.on_row = add_row;
    plan.rows_at_once = true;
  }
  auto ran = co_await ctx.db.run(std::move(plan), ctx.cancel);
  if (!ran) {
    core::Error e = ran.error();
    // Map PostgreSQL's position in the text it ran back into the analyst's SQL.
    if (e.position > 0) {
      const int shifted = e.position - static_cast<int>(prefix.size()) + validated->start_position - 1;
      e.position = shifted > 0 ? shifted : 0;
    }
    co_await add_name_hints(ctx, e);
    co_return e;
  }
  if (ran->cut_at_read_limit) {
    // PostgreSQL sent more than the response limit before the rows ended; the
    // database layer stopped reading. Rows before the cut stand.
    if (count == 0 && !columns)
      co_return make_error(ErrorKind::Denied, "the first row alone is larger than " +
                                                  limit_name(Cut::Reply, ctx.config) +
                                                  ", so the server stopped reading it: " + kNarrower +
                                                  " or substring(column from 1 for 1000)");
    if (cut == Cut::None) cut = Cut::Reply;
  } else {
    const PGresult* last = ran->results.back().get();
    if (!cursor)
      for (int r = 0; r < PQntuples(last); ++r) add_row(last, r);
    if (!columns) describe(last);  // no rows: still name the columns and the hidden ones
  }
  if (columns && text.size() + kFooterRoom > text_budget) co_return header_too_long();
  std::vector<std::string> redacted = columns->hidden_names;
  if (never_selected) redacted.insert(redacted.end(), never_selected->begin(), never_selected->end());
  const std::string note = cut_note(cut, cap, count, ctx.config);
  rows += "],\"row_count\":" + std::to_string(count) + ",\"truncated\":" + (cut != Cut::None ? "true" : "false");
  if (!redacted.empty()) {
    rows += ",\"redacted_columns\":[";
    for (std::size_t i = 0; i < redacted.size(); ++i) {
      if (i) rows += ",";
      fleetmcp::json::append_string(rows, redacted[i]);
    }
    rows += "]";
  }
  // A row limit above the server's ceiling is lowered, and says so.
  const bool lowered = max_rows > cap;
  if (lowered) rows += ",\"max_rows_applied\":" + std::to_string(cap);
  if (cut != Cut::None) {
    rows += ",\"truncated_by\":\"" + std::string(cut_name(cut)) + "\",\"note\":";
    fleetmcp::json::append_string(rows, note);
  }
  rows += "}";

  // The footer: how many rows, whether and why more were left out, and which
  // columns were never shown.
  const std::size_t text_before_footer = text.size();
  std::string footer = "(" + std::to_string(count) + (count == 1 ? " row" : " rows");
  if (!note.empty()) footer += "; " + note;
  if (lowered)
    footer += "; " + std::to_string(max_rows) + " rows were asked for, the server's ceiling is " + std::to_string(cap) +
              " (MCP_MAX_ROWS)";
  if (count == 0)
    if (const std::string covered = coverage_read(*catalog, *validated); !covered.empty())
      footer += "; the data read covers " + covered + ": a filter outside that period finds nothing";
  fleetmcp::json::append_escaped(text, footer);
  if (!redacted.empty()) {
    // As many names as the footer's room holds (escaped, as sent); all of
    // them are in structuredContent.
    fleetmcp::json::append_escaped(text, "; left out as sensitive:");
    std::size_t shown = 0;
    for (std::string name; shown < redacted.size(); ++shown) {
      name.assign(shown ? ", " : " ");
      fleetmcp::json::append_escaped(name, redacted[shown]);
      if (text.size() + name.size() + 100 > text_before_footer + kFooterRoom) break;
      text += name;
    }
    if (shown < redacted.size())
      text += (shown ? " and " : " ") + std::to_string(redacted.size() - shown) +
              " more (all named in structuredContent's redacted_columns)";
  }
  text += ")";
  ctx.record.rows = count;
  ctx.record.truncated = cut != Cut::None;
  co_return out;
}

json rows_output_schema() {
  return {{"type", "object"},
          {"properties",
           {{"row_count", {{"type", "integer"}, {"description", "rows returned"}}},
            {"truncated",
             {{"type", "boolean"}, {"description", "true when the statement had more rows than were returned"}}},
            {"rows",
             {{"type", "array"},
              {"items", {{"type", "object"}}},
              {"description", "one object per row, keyed by column name"}}},
            {"redacted_columns",
             {{"type", "array"},
              {"items", {{"type", "string"}}},
              {"description", "sensitive columns left out of rows (only when there were any)"}}},
            {"max_rows_applied",
             {{"type", "integer"},
              {"description", "the row limit used, when the one asked for was above the server's MCP_MAX_ROWS"}}},
            {"truncated_by",
             {{"type", "string"},
              {"enum", {"max_rows", "text_budget", "response_bytes"}},
              {"description", "the limit that cut the rows (only when truncated)"}}},
            {"note",
             {{"type", "string"},
              {"description", "why the rows were cut and how to narrow the query (only when truncated)"}}}}},
          {"required", {"row_count", "truncated", "rows"}}};
}

json list_output_schema(const json& item_properties) {
  return {{"type", "object"},
          {"properties",
           {{"result", {{"type", "array"}, {"items", {{"type", "object"}, {"properties", item_properties}}}}}}},
          {"required", {"result"}}};
}

}  // namespace fleetmcp::tools
