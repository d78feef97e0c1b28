#include "mcp/dispatcher.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <set>

#include "errors/errors.hpp"
#include "json/writer.hpp"
#include "mcp/pages.hpp"
#include "mcp/params.hpp"
#include "prompts/prompts.hpp"
#include "resources/catalog.hpp"
#include "tools/arguments.hpp"

namespace fleetmcp::mcp {

using namespace fleetmcp::errors;  // the JSON-RPC codes and texts

using boost::asio::awaitable;
using nlohmann::json;

namespace {

constexpr const char* kMetaServerInfo = "io.modelcontextprotocol/serverInfo";
// Tools and prompts change only with a restart; clients may cache them this
// long. The schema can change under us: resources are cached for a minute.
constexpr int kListTtlMs = 300000;
constexpr int kResourceTtlMs = 60000;
// A long tool call reports progress this often (when the client asked for it).
constexpr auto kProgressInterval = std::chrono::seconds(1);

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Progress of one long tool call: a timer loop beside the call that reports
// rows fetched and time elapsed until the call ends. Both run on the request's
// executor (a strand), so the flags need no lock; `rows` is bumped by the
// connection as rows arrive.
struct ProgressTicker {
  explicit ProgressTicker(const boost::asio::any_io_executor& ex) : tick(ex), finished(ex) {}
  boost::asio::steady_timer tick, finished;
  std::atomic<long long> own_rows{0};  // when the status page does not count them
  std::atomic<long long>* rows = &own_rows;
  bool done = false, exited = false;
};

std::string progress_notification(const json& token, long long seconds, long long rows) {
  std::string message = seconds == 0
                            ? "query started"
                            : std::to_string(rows) + " rows fetched, " + std::to_string(seconds) + " s elapsed";
  // progress must grow with every notification, even while no row arrives:
  // it counts seconds; the rows are in the message.
  return dump({{"jsonrpc", "2.0"},
               {"method", "notifications/progress"},
               {"params", {{"progressToken", token}, {"progress", seconds}, {"message", message}}}});
}

awaitable<void> tick_progress(std::shared_ptr<ProgressTicker> t, json token, Notifier notify, core::CancelPtr cancel) {
  const auto started = std::chrono::steady_clock::now();
  for (long long n = 1; !t->done; ++n) {
    t->tick.expires_at(started + n * kProgressInterval);
    boost::system::error_code ec;
    co_await t->tick.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    if (t->done) break;
    if (!co_await notify(progress_notification(token, n, t->rows->load()))) {
      cancel->cancel();  // the stream is gone: so is the client
      break;
    }
  }
  t->exited = true;
  t->finished.cancel();
}

}  // namespace

struct Dispatcher::Request : Envelope {
  auth::Caller caller;
  std::shared_ptr<const policy::Grant> grant;  // the caller's policy
  core::CancelPtr cancel;
  Notifier notify;
};

// The method table: which era may call a method, and its handler.
struct Dispatcher::Method {
  enum class Era { Both, Legacy, Modern } era;
  awaitable<Reply> (Dispatcher::*handler)(Request&);
};

const Dispatcher::Method* Dispatcher::route(std::string_view method, bool modern) {
  using Era = Method::Era;
  static const std::map<std::string_view, Method, std::less<>> table = {
      {"initialize", {Era::Legacy, &Dispatcher::initialize}},
      {"ping", {Era::Legacy, &Dispatcher::ping}},
      // Accepted for clients that set a level; only the conformance fixtures log.
      {"logging/setLevel", {Era::Legacy, &Dispatcher::set_level}},
      {"resources/subscribe", {Era::Legacy, &Dispatcher::subscribe}},
      {"resources/unsubscribe", {Era::Legacy, &Dispatcher::subscribe}},
      {"server/discover", {Era::Modern, &Dispatcher::discover}},
      {"tools/list", {Era::Both, &Dispatcher::list_tools}},
      {"tools/call", {Era::Both, &Dispatcher::call_tool}},
      {"resources/list", {Era::Both, &Dispatcher::list_resources}},
      {"resources/templates/list", {Era::Both, &Dispatcher::list_templates}},
      {"resources/read", {Era::Both, &Dispatcher::read_resource}},
      {"prompts/list", {Era::Both, &Dispatcher::list_prompts}},
      {"prompts/get", {Era::Both, &Dispatcher::get_prompt}},
      {"completion/complete", {Era::Both, &Dispatcher::complete}},
  };
  const auto it = table.find(method);
  if (it == table.end()) return nullptr;
  const Era era = it->second.era;
  if (era == Era::Both || (era == Era::Modern) == modern) return &it->second;
  return nullptr;
}

Dispatcher::Dispatcher(const config::Config& config, pg::Runner& db, audit::Sink& audit, ServerInfo info,
                       const catalog::Store* catalog)
    : config_(config),
      db_(db),
      audit_(audit),
      info_(std::move(info)),
      server_meta_{{kMetaServerInfo, {{"name", info_.name}, {"version", info_.version}}}},
      server_meta_text_(dump(server_meta_)),
      policy_(sql::policy_from(config, catalog)),
      tools_(tools::make_tools()),
      tools_json_(json::array()),
      prompts_json_(json::array()),
      own_book_(config) {
  for (const auto& t : tools_) {
    json declared = {{"name", t.name},
                     {"title", t.title},
                     {"description", t.description},
                     {"inputSchema", t.input_schema},
                     {"outputSchema", t.output_schema},
                     {"annotations",
                      {{"title", t.title},
                       {"readOnlyHint", true},
                       {"destructiveHint", false},
                       {"idempotentHint", true},
                       {"openWorldHint", false}}}};
    // The most characters its text holds (the budget is in bytes as sent,
    // never fewer than the characters), for clients that size their cap by it.
    if (t.text_budgeted) declared["_meta"] = {{"anthropic/maxResultSizeChars", config.text_budget_bytes()}};
    tools_json_.push_back(std::move(declared));
  }
  for (const auto& p : prompts::fleet_prompts()) {
    json args = json::array();
    for (const auto& a : p.arguments)
      args.push_back({{"name", a.name}, {"description", a.description}, {"required", a.required}});
    prompts_json_.push_back(
        {{"name", p.name}, {"title", p.title}, {"description", p.description}, {"arguments", args}});
  }
  index_mirrored_params();
}

void Dispatcher::set_extension(const Extension& extension) {
  extension_ = &extension;
  for (const auto& t : extension.tools()) tools_json_.push_back(t);
  for (const auto& p : extension.prompts()) prompts_json_.push_back(p);
  index_mirrored_params();
}

// Found once, so a tools/call without mirrored parameters costs a lookup.
void Dispatcher::index_mirrored_params() {
  param_headers_.clear();
  for (const auto& tool : tools_json_) {
    const json properties = tool["inputSchema"].value("properties", json::object());
    for (const auto& [property, schema] : properties.items())
      if (auto header = schema.find("x-mcp-header"); header != schema.end() && header->is_string())
        param_headers_[tool["name"].get<std::string>()].emplace_back(property, header->get<std::string>());
  }
}

json Dispatcher::capabilities() const {
  json c = {{"tools", json::object()},
            {"resources", json::object()},
            {"prompts", json::object()},
            {"completions", json::object()}};
  if (extension_) c["logging"] = json::object();  // only the fixtures log
  return c;
}

Reply Dispatcher::outcome_reply(const Request& req, Outcome outcome) const {
  if (auto* f = std::get_if<Failure>(&outcome)) return error_reply(f->status, req.id, f->code, f->message, f->data);
  return result(req, std::move(std::get<json>(outcome)));
}

std::string Dispatcher::instructions(const policy::Grant& grant) const {
  const config::Config& config = grant.config;
  std::string schemas;
  for (const auto& s : config.readable_schemas) schemas += (schemas.empty() ? "" : ", ") + s;
  return "Read-only access to a PostgreSQL fleet-telemetry database. Readable schemas: " + schemas +
         ". Read the resource fleetmcp://overview (or call list_schemas, list_tables and describe_table) "
         "to learn the structure, then "
         "answer questions with one SELECT per query call. Results are capped at max_rows "
         "(default 1000, at most " +
         std::to_string(config.max_rows) +
         "); truncated=true means more rows existed: aggregate, filter or add a time range in SQL "
         "instead of fetching everything. Each query has a " +
         std::to_string(config.statement_timeout_ms / 1000) +
         " s statement timeout. Writes, DDL, SET and side-effecting functions are rejected. " + timezone_text() +
         coverage_text(config.readable_schemas) + role_warning_text();
}

// Which zone "today" and "last week" mean: a model writing current_date - 7
// should know whose date that is.
std::string Dispatcher::timezone_text() const {
  if (!config_.timezone.empty())
    return "Sessions run in time zone " + config_.timezone +
           ": now(), current_date and date casts of timestamptz use it.";
  return "Sessions run in the database server's time zone (SELECT current_setting('TimeZone') names it): "
         "now(), current_date and date casts of timestamptz use it.";
}

// What period the data covers, so "last week" is asked of the right weeks.
std::string Dispatcher::coverage_text(const std::vector<std::string>& schemas) const {
  if (!policy_.catalog) return "";
  const std::string summary = catalog::coverage_summary(*policy_.catalog->current(), schemas);
  if (summary.empty()) return "";
  return " The data covers (earliest to newest row, by schema):\n" + summary +
         "\nCheck this before filtering on current_date or now(): the newest data may be older than today.";
}

// The self-audit's findings, so the operator's override is never silent.
std::string Dispatcher::role_warning_text() const {
  const auto warnings = role_warnings();
  if (warnings.empty()) return "";
  std::string text = " Self-audit of the database role:";
  for (const auto& w : warnings) text += " [" + w + "]";
  return text;
}

static std::string inflight_key(const std::string& caller, const json& id) { return caller + '\x1f' + id.dump(); }

void Dispatcher::cancel_request(const std::string& caller, const json& request_id) {
  core::CancelPtr signal;
  {
    std::lock_guard lock(inflight_mu_);
    auto it = inflight_.find(inflight_key(caller, request_id));
    if (it != inflight_.end()) signal = it->second.lock();
  }
  if (signal)
    signal->cancel(core::CancelSignal::kClientRequest);  // unknown or finished requests are ignored, as the spec says
}

awaitable<Reply> Dispatcher::handle(std::string body, Headers headers, auth::Caller caller, core::CancelPtr cancel,
                                    Notifier notify) {
  auto envelope = read_envelope(body, headers, param_headers_);
  if (auto* refused = std::get_if<Reply>(&envelope)) co_return std::move(*refused);
  Request req;
  static_cast<Envelope&>(req) = std::move(std::get<Envelope>(envelope));
  req.caller = std::move(caller);
  req.cancel = cancel ? std::move(cancel) : std::make_shared<core::CancelSignal>();
  req.notify = std::move(notify);
  if (req.notification) {
    // A caller can cancel only its own requests.
    if (req.method == "notifications/cancelled")
      if (const auto id = req.params.find("requestId");
          id != req.params.end() && (id->is_string() || id->is_number_integer()))
        cancel_request(req.caller.name, *id);
    co_return Reply{202, {}};  // initialized, cancelled, progress, ...
  }
  const Method* method = route(req.method, req.modern);
  req.grant = book_->grant(req.caller.name, req.caller.groups);
  if (!method)
    co_return error_reply(req.modern ? 404 : 200, req.id, kMethodNotFound, "Method not found: " + req.method);
  // The handlers read params without throwing; this is the net under them, so
  // that no request can end a connection (or stdio) without an answer.
  const auto started = std::chrono::steady_clock::now();
  std::optional<Reply> reply;
  try {
    reply = co_await (this->*method->handler)(req);
  } catch (const std::exception& e) {
    reply = error_reply(200, req.id, kInternalError, std::string("Internal error: ") + e.what());
  }
  if (metrics_)
    metrics_->request(req.method, !reply->rpc_error,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
                      reply->body.size());
  co_return std::move(*reply);
}

Reply Dispatcher::invalid_params(const Request& req, const std::string& what) const {
  return error_reply(200, req.id, kInvalidParams, "Invalid params: " + what);
}

audit::Record Dispatcher::record_for(const Request& req, const char* kind, std::string tool,
                                     std::string subject) const {
  audit::Record record;
  record.kind = kind;
  record.caller = req.caller.name;
  record.token_id = req.caller.token_id;
  if (req.grant->source != "server") record.policy = req.grant->source;
  record.tool = std::move(tool);
  record.subject = std::move(subject);
  return record;
}

std::optional<Reply> Dispatcher::admit(Request& req, audit::Record& record,
                                       std::optional<ratelimit::CallerLimits::Permit>& permit) {
  auto admitted = limits_->admit(req.caller.name, req.grant->calls_per_minute, req.grant->concurrent_calls);
  if (auto* p = std::get_if<ratelimit::CallerLimits::Permit>(&admitted)) {
    permit.emplace(std::move(*p));
    return std::nullopt;
  }
  const auto& refusal = std::get<ratelimit::CallerLimits::Refusal>(admitted);
  record.outcome = "limited";
  record.error = refusal.reason;
  audit_.write(record);
  Reply reply = error_reply(429, req.id, kCallerLimit, "Too many calls: " + refusal.reason,
                            {{"retryAfterSeconds", refusal.retry_after_s}});
  reply.retry_after_s = refusal.retry_after_s;
  return reply;
}

resources::Context Dispatcher::catalog_context(const Request& req) const {
  return resources::Context{db_, req.grant->config, req.cancel, policy_.catalog,
                            pg::RunAs{req.grant->role, req.caller.name}};
}

awaitable<Reply> Dispatcher::initialize(Request& req) {
  ParamError bad;
  Params params(req.params, "params", bad);
  const auto requested = params.string("protocolVersion");
  params.object("capabilities");
  params.object("clientInfo");
  if (bad) co_return invalid_params(req, bad.message);
  const std::string version = requested && is_legacy_version(*requested) ? *requested : kLegacyVersions[0];
  co_await tools::wait_for_catalog(policy_, config_.connect_timeout_ms, req.cancel);
  json initialized = {{"protocolVersion", version},
                      {"capabilities", capabilities()},
                      {"serverInfo", {{"name", info_.name}, {"version", info_.version}}},
                      {"instructions", instructions(*req.grant)}};
  co_return result(req, std::move(initialized));
}

awaitable<Reply> Dispatcher::ping(Request& req) { co_return result(req, json::object()); }

awaitable<Reply> Dispatcher::set_level(Request& req) {
  ParamError bad;
  const auto level = Params(req.params, "params", bad).required_string("level");
  if (bad) co_return invalid_params(req, bad.message);
  static const std::set<std::string_view> kLevels = {"debug", "info",     "notice", "warning",
                                                     "error", "critical", "alert",  "emergency"};
  if (!kLevels.count(*level))
    co_return invalid_params(req, "params.level must be a syslog level (debug ... emergency)");
  co_return result(req, json::object());  // accepted; only the conformance fixtures log
}

awaitable<Reply> Dispatcher::subscribe(Request& req) {
  if (!extension_) co_return error_reply(200, req.id, kMethodNotFound, "Method not found: " + req.method);
  co_return result(req, json::object());
}

awaitable<Reply> Dispatcher::discover(Request& req) {
  co_await tools::wait_for_catalog(policy_, config_.connect_timeout_ms, req.cancel);
  json discovered = {{"supportedVersions", supported_versions()},
                     {"capabilities", capabilities()},
                     {"instructions", instructions(*req.grant)}};
  co_return result(req, std::move(discovered), kListTtlMs);
}

awaitable<Reply> Dispatcher::list_tools(Request& req) { co_return list_page(req, "tools", tools_json_, kListTtlMs); }

awaitable<Reply> Dispatcher::list_prompts(Request& req) {
  co_return list_page(req, "prompts", prompts_json_, kListTtlMs);
}

awaitable<Reply> Dispatcher::list_templates(Request& req) {
  json items = json::array();
  for (const auto& t : resources::templates())
    items.push_back({{"uriTemplate", t.uri_template},
                     {"name", t.name},
                     {"title", t.title},
                     {"description", t.description},
                     {"mimeType", t.mime_type}});
  if (extension_)
    for (const auto& t : extension_->templates()) items.push_back(t);
  co_return list_page(req, "resourceTemplates", items, kListTtlMs);
}

Reply Dispatcher::result(const Request& req, json result, std::optional<int> ttl_ms) const {
  if (req.modern) {
    if (!result.contains("resultType")) result["resultType"] = "complete";
    if (ttl_ms && result["resultType"] == "complete") {
      result["ttlMs"] = *ttl_ms;
      // Resources and the instructions show what the caller's policy lets them read.
      const bool per_caller =
          (req.method.rfind("resources/", 0) == 0 || req.method == "server/discover") && !book_->uniform();
      result["cacheScope"] = per_caller ? "private" : "public";
    }
    result["_meta"] = server_meta_;
  }
  return Reply{200, dump({{"jsonrpc", "2.0"}, {"id", req.id}, {"result", std::move(result)}})};
}

Reply Dispatcher::list_page(Request& req, const char* key, const json& items, int ttl_ms) {
  const auto cursor = req.params.find("cursor");
  const auto offset = decode_cursor(key, cursor == req.params.end() ? json() : *cursor);
  if (!offset || *offset > items.size())
    return error_reply(200, req.id, kInvalidParams, "Invalid params: unknown or stale cursor");
  const std::size_t end = std::min(items.size(), *offset + static_cast<std::size_t>(config_.page_size));
  json page = {{key, json(items.begin() + static_cast<std::ptrdiff_t>(*offset),
                          items.begin() + static_cast<std::ptrdiff_t>(end))}};
  if (end < items.size()) page["nextCursor"] = encode_cursor(key, end);
  return result(req, std::move(page), ttl_ms);
}

awaitable<Reply> Dispatcher::list_resources(Request& req) {
  // (Named arguments: g++ 12 miscompiles braced temporaries passed to coroutines.)
  audit::Record record = record_for(req, "resource_list", "resources/list");
  std::optional<ratelimit::CallerLimits::Permit> permit;
  if (auto refused = admit(req, record, permit)) co_return std::move(*refused);
  const auto started = std::chrono::steady_clock::now();
  resources::Context catalog = catalog_context(req);
  auto entries = co_await resources::list(catalog);
  record.took_since(started);
  if (!entries) {
    record.failed_with(entries.error());
    audit_.write(record);
    co_return error_reply(200, req.id, rpc_code(entries.error(), req.modern),
                          "Could not list resources: " + entries.error().message);
  }
  record.outcome = "ok";
  record.rows = static_cast<long long>(entries->size());
  audit_.write(record);
  json items = extension_ ? extension_->resources() : json::array();
  for (const auto& e : *entries)
    items.push_back({{"uri", e.uri},
                     {"name", e.name},
                     {"title", e.title},
                     {"description", e.description},
                     {"mimeType", e.mime_type}});
  co_return list_page(req, "resources", items, kResourceTtlMs);
}

awaitable<Reply> Dispatcher::read_resource(Request& req) {
  ParamError bad;
  const auto uri_text = Params(req.params, "params", bad).required_string("uri");
  if (bad) co_return invalid_params(req, bad.message);
  const json uri = *uri_text;
  if (extension_)
    if (auto fixture = extension_->read_resource(uri.get<std::string>()))
      co_return result(req, std::move(*fixture), kResourceTtlMs);
  audit::Record record = record_for(req, "resource_read", "resources/read", uri.get<std::string>());
  std::optional<ratelimit::CallerLimits::Permit> permit;
  if (auto refused = admit(req, record, permit)) co_return std::move(*refused);
  const auto started = std::chrono::steady_clock::now();
  resources::Context catalog = catalog_context(req);
  auto contents = co_await resources::read(uri.get<std::string>(), catalog);
  record.took_since(started);
  if (contents)
    record.outcome = "ok";
  else
    record.failed_with(contents.error());
  audit_.write(record);
  if (!contents) {
    const core::Error& e = contents.error();
    if (e.kind == core::ErrorKind::NotFound)
      co_return error_reply(200, req.id, rpc_code(e, req.modern), e.message, {{"uri", uri}});
    co_return error_reply(200, req.id, rpc_code(e, req.modern),
                          "Could not read " + uri.get<std::string>() + ": " + e.message);
  }
  json read = {{"contents",
                json::array({{{"uri", contents->uri}, {"mimeType", contents->mime_type}, {"text", contents->text}}})}};
  co_return result(req, std::move(read), kResourceTtlMs);
}

awaitable<Reply> Dispatcher::get_prompt(Request& req) {
  ParamError bad;
  Params params(req.params, "params", bad);
  const auto name = params.required_string("name");
  const json* given = params.object("arguments");
  if (bad) co_return invalid_params(req, bad.message);
  if (extension_ && extension_->has_prompt(*name)) co_return outcome_reply(req, extension_->get_prompt(req.params));
  const prompts::Prompt* prompt = nullptr;
  for (const auto& p : prompts::fleet_prompts())
    if (p.name == *name) prompt = &p;
  if (!prompt) co_return invalid_params(req, "unknown prompt " + *name);
  prompts::Arguments args;
  if (given)
    for (const auto& [k, v] : given->items()) {
      if (!v.is_string()) co_return invalid_params(req, "params.arguments." + k + " must be a string");
      args[k] = v.get<std::string>();
    }
  auto text = prompts::render(*prompt, args);
  if (!text) co_return invalid_params(req, text.error().message);
  json got = {{"description", prompt->description},
              {"messages", json::array({{{"role", "user"}, {"content", {{"type", "text"}, {"text", *text}}}}})}};
  co_return result(req, std::move(got));
}

awaitable<Reply> Dispatcher::complete(Request& req) {
  ParamError bad;
  Params params(req.params, "params", bad);
  Params ref = params.nested("ref"), argument = params.nested("argument");
  const auto type = ref.required_string("type");
  const auto ref_name = ref.string("name"), ref_uri = ref.string("uri");
  const auto arg_name = argument.required_string("name"), arg_value = argument.required_string("value");
  const json* given = params.nested("context").object("arguments");
  if (bad) co_return invalid_params(req, bad.message);
  bool known = false;
  if (*type == "ref/prompt" && ref_name) {
    for (const auto& p : prompts::fleet_prompts()) known = known || p.name == *ref_name;
    if (extension_ && extension_->has_prompt(*ref_name)) {  // nothing to offer
      json none = {{"values", json::array()}, {"total", 0}, {"hasMore", false}};
      co_return result(req, {{"completion", none}});
    }
  } else if (*type == "ref/resource" && ref_uri) {
    for (const auto& t : resources::templates()) known = known || t.uri_template == *ref_uri;
  }
  if (!known) co_return invalid_params(req, "unknown completion reference " + req.params["ref"].dump());
  std::map<std::string, std::string> context;
  if (given)
    for (const auto& [k, v] : given->items())
      if (v.is_string()) context[k] = v.get<std::string>();
  audit::Record record = record_for(req, "completion", "completion/complete", *arg_name);
  std::optional<ratelimit::CallerLimits::Permit> permit;
  if (auto refused = admit(req, record, permit)) co_return std::move(*refused);
  const auto started = std::chrono::steady_clock::now();
  resources::Context catalog = catalog_context(req);
  auto done = co_await resources::complete(*arg_name, *arg_value, std::move(context), catalog);
  record.took_since(started);
  if (done) {
    record.outcome = "ok";
    record.rows = static_cast<long long>(done->values.size());
  } else {
    record.failed_with(done.error());
  }
  audit_.write(record);
  if (!done)
    co_return error_reply(200, req.id, rpc_code(done.error(), req.modern),
                          "Could not complete: " + done.error().message);
  json completion = {{"values", done->values}, {"total", done->total}, {"hasMore", done->total > done->values.size()}};
  co_return result(req, {{"completion", completion}});
}

awaitable<Reply> Dispatcher::call_tool(Request& req) {
  ParamError bad;
  Params params(req.params, "params", bad);
  const auto name = params.required_string("name");
  const json* given_args = params.object("arguments");
  const json* token = params.nested("_meta").id_like("progressToken");
  if (bad) co_return invalid_params(req, bad.message);
  if (extension_ && extension_->has_tool(*name)) {
    // A legacy client's capabilities were declared once, at initialize; a
    // stateless server cannot know them, so they are taken as all declared.
    const json caps =
        req.modern ? req.params["_meta"][kMetaCapabilities]
                   : json{{"sampling", json::object()}, {"elicitation", json::object()}, {"roots", json::object()}};
    ExtensionCall call{req.params, caps, req.modern, req.notify};
    co_return outcome_reply(req, co_await extension_->call_tool(std::move(call)));
  }
  const tools::Tool* tool = nullptr;
  for (const auto& t : tools_)
    if (t.name == *name) tool = &t;
  if (!tool) co_return error_reply(200, req.id, kInvalidParams, "Unknown tool: " + *name);
  const json args = given_args ? *given_args : json::object();

  audit::Record record = record_for(req, "tool_call", tool->name);
  std::optional<ratelimit::CallerLimits::Permit> permit;
  if (auto refused = admit(req, record, permit)) co_return std::move(*refused);
  const config::Config& config = req.grant->config;
  // The caller's schemas and sensitive columns judge the SQL (the catalog is the server's).
  sql::Policy policy = sql::policy_from(config, policy_.catalog);
  tools::CallContext ctx{db_, config, policy, record, req.cancel};
  ctx.as = pg::RunAs{req.grant->role, req.caller.name};
  // On the status page while it runs.
  std::shared_ptr<metrics::Activity::Running> running;
  if (activity_) {
    running = activity_->start(req.caller.name, tool->name);
    ctx.rows_fetched = &running->rows;
    ctx.statement_known = [&record, &running] { running->set_statement(record.fingerprint, record.sql); };
  }
  const std::string key = inflight_key(req.caller.name, req.id);
  {
    std::lock_guard lock(inflight_mu_);
    inflight_[key] = req.cancel;
  }
  // Progress when the client asked for it and the transport can carry it.
  std::shared_ptr<ProgressTicker> ticker;
  if (req.notify && token) {
    ticker = std::make_shared<ProgressTicker>(co_await boost::asio::this_coro::executor);
    if (!ctx.rows_fetched) ctx.rows_fetched = &ticker->own_rows;
    ticker->rows = ctx.rows_fetched;
    if (co_await req.notify(progress_notification(*token, 0, 0)))
      boost::asio::co_spawn(ticker->tick.get_executor(), tick_progress(ticker, *token, req.notify, req.cancel),
                            boost::asio::detached);
    else
      ticker->exited = true;
  }
  const auto started = std::chrono::steady_clock::now();
  // Arguments are judged against the tool's inputSchema before it runs.
  // (Not a conditional expression around co_await: g++ 12 destroys its temporaries twice.)
  core::Result<tools::Output> outcome = core::make_error(core::ErrorKind::Internal, "not run");
  if (const core::Status arguments_ok = tools::check_arguments(tool->name, tool->input_schema, args); arguments_ok)
    outcome = co_await tool->run(args, ctx);
  else
    outcome = arguments_ok.error();
  if (ticker) {
    ticker->done = true;
    ticker->tick.cancel();
    if (!ticker->exited) {  // let a notification being written finish before the response
      ticker->finished.expires_at(std::chrono::steady_clock::time_point::max());
      boost::system::error_code ec;
      co_await ticker->finished.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
  }
  {
    std::lock_guard lock(inflight_mu_);
    inflight_.erase(key);
  }
  record.took_since(started);

  std::string body;
  const std::string head = "{\"jsonrpc\":\"2.0\",\"id\":" + dump(req.id) + ",\"result\":{";
  if (outcome) {
    record.outcome = "ok";
    // The rows are most of a reply: structuredContent becomes the reply in
    // place (the row tools leave room for the rest), so a result is never
    // held twice.
    std::string text = std::move(outcome->escaped_text);
    if (text.empty()) fleetmcp::json::append_escaped(text, outcome->structured);
    body = std::move(outcome->structured);
    body.reserve(head.size() + body.size() + text.size() + server_meta_text_.size() + 256);
    body.insert(0, head + "\"structuredContent\":");
    body += ",\"content\":[{\"type\":\"text\",\"text\":\"";
    body += text;
    body += "\"}],\"isError\":false";
  } else {
    const core::Error& e = outcome.error();
    record.failed_with(e);
    if (e.kind == core::ErrorKind::Cancelled) record.cause = req.cancel->cause();
    body = head + "\"content\":[{\"type\":\"text\",\"text\":";
    fleetmcp::json::append_string(body, model_error_text(e, record.sql));
    body += "}],\"isError\":true";
  }
  audit_.write(record);
  if (req.modern) {
    body += ",\"resultType\":\"complete\",\"_meta\":";
    body += server_meta_text_;
  }
  body += "}}";
  co_return Reply{200, std::move(body)};
}

}  // namespace fleetmcp::mcp
