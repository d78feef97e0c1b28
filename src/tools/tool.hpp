// What a tool is: its declaration (name, schemas, annotations) and its body.
// Each tool lives in its own file; registry.cpp lists them.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.hpp"
#include "config/config.hpp"
#include "core/cancel.hpp"
#include "core/result.hpp"
#include "pg/runner.hpp"
#include "sql/guard.hpp"

namespace fleetmcp::tools {

using nlohmann::json;

struct CallContext {
  pg::Runner& db;
  const config::Config& config;
  const sql::Policy& policy;
  audit::Record& record;   // the tool fills sql, fingerprint, rows, truncated
  core::CancelPtr cancel;  // fired when the client goes away or cancels
  // Counts the rows PostgreSQL has sent so far, for progress reports and the
  // status page (may be null).
  std::atomic<long long>* rows_fetched = nullptr;
  // Told when the guard has passed the statement (record.sql and fingerprint set).
  std::function<void()> statement_known{};
  // The analyst's role and application_name (src/policy); `config` carries
  // their row cap, statement timeout, schemas and sensitive columns.
  pg::RunAs as{};
};

// A plan that runs as the caller, under the caller's statement timeout.
pg::Plan caller_plan(const CallContext& ctx);

// A successful result: structuredContent as JSON text (an object), and the
// text block for the model, already escaped as the content of a JSON string
// (no quotes). An empty text block: the structured JSON is the text.
struct Output {
  std::string structured;
  std::string escaped_text;
};

using ToolBody = std::function<boost::asio::awaitable<core::Result<Output>>(const json& args, CallContext&)>;

struct Tool {
  std::string name;
  std::string title;
  std::string description;
  json input_schema;
  json output_schema;
  ToolBody run;
  // Its text is cut to MCP_MAX_TEXT_TOKENS (declared to clients in _meta).
  bool text_budgeted = false;
};

// The six tools, in a stable order.
std::vector<Tool> make_tools();

// Shared by the tools: argument readers that produce analyst-readable errors.
core::Result<std::string> string_arg(const json& args, const char* name,
                                     std::optional<std::string> fallback = std::nullopt);
// A schema, table or function name: a string without a zero byte.
core::Result<std::string> name_arg(const json& args, const char* name,
                                   std::optional<std::string> fallback = std::nullopt);
core::Result<long long> integer_arg(const json& args, const char* name, long long fallback);
// Refuses a schema outside MCP_READABLE_SCHEMAS, naming the allowed ones.
core::Status check_readable_schema(const config::Config& config, const std::string& schema);

// Right after start the catalog may still be loading: waits for it (up to
// `timeout_ms`) rather than refuse the first calls, or tell the first client
// instructions without the data's coverage. The guard refuses to judge by
// less than the live catalog either way.
boost::asio::awaitable<void> wait_for_catalog(const sql::Policy& policy, int timeout_ms, const core::CancelPtr& cancel);

// Runs one catalog statement with parameters; returns {"result":[rows...]}.
boost::asio::awaitable<core::Result<Output>> catalog_rows(CallContext& ctx, std::string sql,
                                                          std::vector<std::string> params);

// Validates `sql` with the guard and runs exactly the validated text: a SELECT
// through a cursor (FETCH cap+1: truncated is exact and the SQL text is never
// edited), EXPLAIN and SHOW directly. Returns {row_count, truncated, rows}
// (with truncated_by and a note when cut, and redacted_columns when sensitive
// columns were dropped from the result or, `never_selected`, from the select
// list) and the same rows as a CSV text with a footer line.
boost::asio::awaitable<core::Result<Output>> guarded_rows(CallContext& ctx, const std::string& sql, long long max_rows,
                                                          const std::vector<std::string>* never_selected = nullptr);

// JSON Schema of {row_count, truncated, rows} and of {"result": [objects]}.
json rows_output_schema();
json list_output_schema(const json& item_properties);

}  // namespace fleetmcp::tools
