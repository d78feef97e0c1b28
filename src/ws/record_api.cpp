#include "ws/record_api.hpp"

#include <algorithm>
#include <set>

#include "errors/errors.hpp"
#include "json/rows.hpp"
#include "pg/sqlstate.hpp"

namespace fleetmcp::ws {

using boost::asio::awaitable;
using core::ErrorKind;
using core::make_error;
using Clock = std::chrono::steady_clock;

namespace {

// How long a described relation is trusted. A change that makes the cached
// description wrong shows up as one of the errors in catalog_changed() and is
// forgotten at once; this bound covers what fails silently (a new column).
constexpr auto kCatalogTtl = std::chrono::seconds(60);
// The actions the audit names (see answer()).
const std::set<std::string> kAuditedActions = {"list", "get", "query", "create", "update", "delete"};

bool catalog_changed(const std::string& sqlstate) {
  return sqlstate == pg::kUndefinedTable || sqlstate == pg::kUndefinedColumn || sqlstate == pg::kInsufficientPrivilege;
}

}  // namespace

RecordApi::RecordApi(const config::Config& config, pg::Database& db, audit::Sink& audit)
    : config_(config), db_(db), audit_(audit), policy_(sql::policy_from(config)), own_book_(config) {}

std::string RecordApi::allowed_list() const {
  std::string list;
  for (const auto& m : config_.ws_models) list += (list.empty() ? "" : ", ") + m.name;
  return list;
}

awaitable<std::string> RecordApi::answer(std::string message, std::string caller, core::CancelPtr cancel) {
  const auto started = Clock::now();
  audit::Record record;
  record.caller = std::move(caller);
  record.tool = "ws";
  Request request;
  std::optional<core::Result<std::string>> outcome;
  if (auto parsed = parse_request(message, request); !parsed) outcome = parsed.error();
  // The audit's (and the metrics') tool: an action the protocol knows (the
  // three reads, and the writes it refuses); a name a client made up is not
  // repeated into the log, the metrics and the status page.
  if (!request.action_name.empty())
    record.tool += ":" + std::string(kAuditedActions.count(request.action_name) ? request.action_name : "other");
  // The caller's policy (role, statement timeout) and limits, shared with /mcp.
  const auto grant = book_->grant(record.caller, {});
  if (grant->source != "server") record.policy = grant->source;
  std::optional<ratelimit::CallerLimits::Permit> permit;
  if (!outcome && limits_) {
    auto admitted = limits_->admit(record.caller, grant->calls_per_minute, grant->concurrent_calls);
    if (auto* refused = std::get_if<ratelimit::CallerLimits::Refusal>(&admitted)) {
      record.outcome = "limited";
      record.error = refused->reason;
      audit_.write(record);
      co_return error_frame(request.id, "Too many calls: " + refused->reason);
    }
    permit.emplace(std::move(std::get<ratelimit::CallerLimits::Permit>(admitted)));
  }
  if (!outcome) outcome = co_await run(request, record, *grant, std::move(cancel));
  record.took_since(started);
  std::string frame;
  if (*outcome) {
    record.outcome = "ok";
    frame = std::move(outcome->value());
  } else {
    record.failed_with(outcome->error());
    frame = error_frame(request.id, errors::record_error_text(outcome->error()));
  }
  audit_.write(record);
  co_return frame;
}

std::string RecordApi::refuse(std::string_view message, const std::string& caller, const core::Error& error) {
  audit::Record record;
  record.caller = caller;
  record.tool = "ws";
  record.failed_with(error);
  audit_.write(record);
  return error_frame(peek_id(message), errors::record_error_text(error));
}

void RecordApi::audit_event(const std::string& caller, const std::string& tool, const std::string& outcome,
                            const std::string& error) {
  audit::Record record;
  record.caller = caller;
  record.tool = tool;
  record.outcome = outcome;
  record.error = error;
  audit_.write(record);
}

awaitable<core::Result<std::string>> RecordApi::run(const Request& request, audit::Record& record,
                                                    const policy::Grant& grant, core::CancelPtr cancel) {
  const auto& models = config_.ws_models;
  const auto model = std::find_if(models.begin(), models.end(), [&](const auto& m) { return m.name == request.model; });
  if (model == models.end())
    co_return make_error(ErrorKind::Denied,
                         "Model '" + request.model + "' not allowed. Allowed models: " + allowed_list());

  // Parameters are checked before anything reaches the database.
  std::optional<Selection> selection;
  std::optional<std::string> id;
  if (request.action == Action::Get) {
    auto read = read_record_id(request);
    if (!read) co_return read.error();
    id = std::move(*read);
  } else {
    auto read = read_selection(request);
    if (!read) co_return read.error();
    selection = std::move(*read);
  }

  std::optional<core::Result<pg::RunOutput>> ran;
  for (int attempt = 0;; ++attempt) {
    auto relation = co_await resolve(*model, cancel);
    if (!relation) co_return relation.error();
    auto statement = id ? get_statement(model->name, **relation, *id)
                        : select_statement(model->name, **relation, *selection, policy_);
    if (!statement) co_return statement.error();
    record.sql = statement->sql;  // placeholders only: filter values stay out of the log
    pg::Plan plan;
    plan.statement_timeout_ms = grant.config.statement_timeout_ms;
    plan.as = pg::RunAs{grant.role, record.caller};
    plan.statements.push_back(std::move(*statement));
    ran = co_await db_.run(std::move(plan), cancel);
    // The relation changed since it was described (a column dropped, a grant
    // revoked): describe it again and run once more; reads are safe to repeat.
    if (*ran || attempt > 0 || !catalog_changed(ran->error().sqlstate)) break;
    forget(model->name);
  }
  if (!*ran) co_return ran->error();
  const PGresult* result = (*ran)->results.at(0).get();
  // The select list already leaves sensitive columns out; hiding them again
  // here keeps that true whatever a future statement selects.
  const auto hide = [&](std::string_view column, unsigned, int) { return sql::is_redacted_column(policy_, column); };
  const auto columns = fleetmcp::json::describe_columns(result, hide);
  std::string frame;
  if (id) {
    record.rows = PQntuples(result);
    if (record.rows == 0)
      co_return error_frame(request.id, "Record not found: model '" + model->name + "' has no record with id " + *id);
    std::string row;
    fleetmcp::json::append_row(row, result, 0, columns);
    frame = get_frame(request.id, row);
  } else {
    std::string rows;
    record.rows = fleetmcp::json::append_rows(rows, result, PQntuples(result), columns);
    frame = list_frame(request.id, rows, record.rows, selection->limit, selection->offset);
  }
  if (frame.size() > config_.max_response_bytes)
    co_return make_error(ErrorKind::BadRequest,
                         "Answer too large: " + std::to_string(frame.size()) + " bytes, over MCP_MAX_RESPONSE_BYTES (" +
                             std::to_string(config_.max_response_bytes) + "); ask for fewer records with limit");
  co_return frame;
}

awaitable<core::Result<std::shared_ptr<const Relation>>> RecordApi::resolve(const config::RecordModel& model,
                                                                            const core::CancelPtr& cancel) {
  {
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(model.name);
    if (it != cache_.end() && Clock::now() - it->second.described < kCatalogTtl) co_return it->second.relation;
  }
  pg::Plan plan;
  plan.statements.push_back(describe_statement(model, config_.readable_schemas));
  auto ran = co_await db_.run(std::move(plan), cancel);
  if (!ran) co_return ran.error();
  auto relation = relation_from(ran->results.at(0).get(), policy_);
  if (!relation) {
    // Not cached: a table created later is found on the next request.
    std::string where = model.schema;
    if (where.empty())
      for (const auto& s : config_.readable_schemas) where += (where.empty() ? "" : ", ") + s;
    co_return make_error(ErrorKind::BadRequest,
                         "Model '" + model.name + "' is allowed but no table or view named '" + model.relation +
                             "' that the database role can read exists in " + where +
                             "; map the model to one with MCP_ALLOWED_MODELS=" + model.name + "=schema.table");
  }
  if (relation->columns.empty())
    co_return make_error(ErrorKind::Denied, "Model '" + model.name + "': the database role may read none of the " +
                                                "columns of " + relation->schema + "." + relation->name +
                                                " that are not sensitive");
  auto shared = std::make_shared<const Relation>(std::move(*relation));
  std::lock_guard lock(cache_mu_);
  cache_[model.name] = {shared, Clock::now()};
  co_return shared;
}

void RecordApi::forget(const std::string& model) {
  std::lock_guard lock(cache_mu_);
  cache_.erase(model);
}

}  // namespace fleetmcp::ws
