#include "mcp/dispatcher.hpp"

#include <openssl/evp.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "json/writer.hpp"
#include "mcp/errors.hpp"
#include "mcp/pages.hpp"
#include "prompts/prompts.hpp"
#include "resources/catalog.hpp"

namespace fleetmcp::mcp {

using boost::asio::awaitable;
using nlohmann::json;

namespace {

constexpr const char* kMetaVersion = "io.modelcontextprotocol/protocolVersion";
constexpr const char* kMetaCapabilities = "io.modelcontextprotocol/clientCapabilities";
constexpr const char* kMetaServerInfo = "io.modelcontextprotocol/serverInfo";
// Tools and prompts change only with a restart; clients may cache them this
// long. The schema can change under us: resources are cached for a minute.
constexpr int kListTtlMs = 300000;
constexpr int kResourceTtlMs = 60000;
// A long tool call reports progress this often (when the client asked for it).
constexpr auto kProgressInterval = std::chrono::seconds(1);

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

bool is_legacy_version(const std::string& v) {
  for (const char* l : kLegacyVersions)
    if (v == l) return true;
  return false;
}

json supported_versions() {
  json all = json::array({kModernVersion});
  for (const char* l : kLegacyVersions) all.push_back(l);
  return all;
}

// Mcp-Name may carry non-ASCII names as =?base64?...?=.
std::string decode_header_value(const std::string& v) {
  const std::string prefix = "=?base64?", suffix = "?=";
  if (v.size() < prefix.size() + suffix.size() || v.rfind(prefix, 0) != 0 ||
      v.compare(v.size() - suffix.size(), suffix.size(), suffix) != 0)
    return v;
  std::string b64 = v.substr(prefix.size(), v.size() - prefix.size() - suffix.size());
  if (b64.size() % 4) return v;
  std::string out(b64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  if (n < 0) return v;
  std::size_t pad = 0;
  if (!b64.empty() && b64.back() == '=') ++pad;
  if (b64.size() > 1 && b64[b64.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

// Progress of one long tool call: a timer loop beside the call that reports
// rows fetched and time elapsed until the call ends. Both run on the request's
// executor (a strand), so the flags need no lock; `rows` is bumped by the
// connection as rows arrive.
struct ProgressTicker {
  explicit ProgressTicker(const boost::asio::any_io_executor& ex) : tick(ex), finished(ex) {}
  boost::asio::steady_timer tick, finished;
  std::atomic<long long> rows{0};
  bool done = false, exited = false;
};

std::string progress_notification(const json& token, long long seconds, long long rows) {
  std::string message = seconds == 0 ? "query started"
                                     : std::to_string(rows) + " rows fetched, " + std::to_string(seconds) +
                                           " s elapsed";
  // progress must grow with every notification, even while no row arrives:
  // it counts seconds; the rows are in the message.
  return dump({{"jsonrpc", "2.0"},
               {"method", "notifications/progress"},
               {"params", {{"progressToken", token}, {"progress", seconds}, {"message", message}}}});
}

awaitable<void> tick_progress(std::shared_ptr<ProgressTicker> t, json token, Notifier notify,
                              core::CancelPtr cancel) {
  const auto started = std::chrono::steady_clock::now();
  for (long long n = 1; !t->done; ++n) {
    t->tick.expires_at(started + n * kProgressInterval);
    boost::system::error_code ec;
    co_await t->tick.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    if (t->done) break;
    if (!co_await notify(progress_notification(token, n, t->rows.load()))) {
      cancel->cancel();  // the stream is gone: so is the client
      break;
    }
  }
  t->exited = true;
  t->finished.cancel();
}

Reply error_reply(int status, const json& id, int code, const std::string& message,
                  const json& data = nullptr) {
  return {status, rpc_error(id, code, message, data)};
}

}  // namespace

struct Dispatcher::Request {
  json id;  // null for notifications
  bool notification = false;
  std::string method;
  json params;
  std::string caller;
  core::CancelPtr cancel;
  Notifier notify;
  bool modern = false;
};

Dispatcher::Dispatcher(const config::Config& config, pg::Database& db, audit::Sink& audit,
                       ServerInfo info, const catalog::Store* catalog)
    : config_(config),
      db_(db),
      audit_(audit),
      info_(std::move(info)),
      server_meta_{{kMetaServerInfo, {{"name", info_.name}, {"version", info_.version}}}},
      server_meta_text_(dump(server_meta_)),
      policy_(tools::policy_from(config, catalog)),
      tools_(tools::make_tools()),
      tools_json_(json::array()),
      prompts_json_(json::array()) {
  for (const auto& t : tools_)
    tools_json_.push_back({{"name", t.name},
                           {"title", t.title},
                           {"description", t.description},
                           {"inputSchema", t.input_schema},
                           {"outputSchema", t.output_schema},
                           {"annotations",
                            {{"title", t.title},
                             {"readOnlyHint", true},
                             {"destructiveHint", false},
                             {"idempotentHint", true},
                             {"openWorldHint", false}}}});
  for (const auto& p : prompts::fleet_prompts()) {
    json args = json::array();
    for (const auto& a : p.arguments)
      args.push_back({{"name", a.name}, {"description", a.description}, {"required", a.required}});
    prompts_json_.push_back(
        {{"name", p.name}, {"title", p.title}, {"description", p.description}, {"arguments", args}});
  }
  if (config.conformance_fixtures) {
    fixtures_ = std::make_unique<conformance::Fixtures>();
    for (const auto& t : fixtures_->tools()) tools_json_.push_back(t);
    for (const auto& p : fixtures_->prompts()) prompts_json_.push_back(p);
  }
  // Found once here, so a tools/call without mirrored parameters costs a lookup.
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
  if (fixtures_) c["logging"] = json::object();  // only the fixtures log
  return c;
}

Reply Dispatcher::outcome_reply(const Request& req, conformance::Outcome outcome) const {
  if (auto* f = std::get_if<conformance::Failure>(&outcome))
    return error_reply(f->status, req.id, f->code, f->message, f->data);
  return result(req, std::move(std::get<json>(outcome)));
}

std::string Dispatcher::instructions() const {
  std::string schemas;
  for (const auto& s : config_.readable_schemas) schemas += (schemas.empty() ? "" : ", ") + s;
  return "Read-only access to a PostgreSQL fleet-telemetry database. Readable schemas: " + schemas +
         ". Read the resource fleetmcp://overview (or call list_schemas, list_tables and describe_table) "
         "to learn the structure, then "
         "answer questions with one SELECT per query call. Results are capped at max_rows "
         "(default 1000, at most " + std::to_string(config_.max_rows) +
         "); truncated=true means more rows existed: aggregate, filter or add a time range in SQL "
         "instead of fetching everything. Each query has a " +
         std::to_string(config_.statement_timeout_ms / 1000) +
         " s statement timeout. Writes, DDL, SET and side-effecting functions are rejected." +
         role_warning_text();
}

// The self-audit's findings, so the operator's override is never silent.
std::string Dispatcher::role_warning_text() const {
  const auto warnings = role_warnings();
  if (warnings.empty()) return "";
  std::string text = " Self-audit of the database role:";
  for (const auto& w : warnings) text += " [" + w + "]";
  return text;
}

static std::string inflight_key(const std::string& caller, const json& id) {
  return caller + '\x1f' + id.dump();
}

void Dispatcher::cancel_request(const std::string& caller, const json& request_id) {
  core::CancelPtr signal;
  {
    std::lock_guard lock(inflight_mu_);
    auto it = inflight_.find(inflight_key(caller, request_id));
    if (it != inflight_.end()) signal = it->second.lock();
  }
  if (signal) signal->cancel();  // unknown or finished requests are ignored, as the spec says
}

awaitable<Reply> Dispatcher::handle(std::string body, Headers headers, std::string caller,
                                    core::CancelPtr cancel, Notifier notify) {
  json message = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded()) co_return error_reply(400, nullptr, kParseError, "Parse error: the body is not valid JSON");
  if (message.is_array())
    co_return error_reply(400, nullptr, kInvalidRequest,
                          "Invalid Request: JSON-RPC batches are not supported; send one message per request");
  if (!message.is_object())
    co_return error_reply(400, nullptr, kInvalidRequest, "Invalid Request: expected a JSON-RPC object");

  json id = nullptr;
  const bool has_id = message.contains("id");
  if (has_id) {
    id = message["id"];
    if (!(id.is_string() || id.is_number_integer()))
      co_return error_reply(400, nullptr, kInvalidRequest, "Invalid Request: id must be a string or an integer");
  }
  if (message.value("jsonrpc", json()) != "2.0")
    co_return error_reply(400, id, kInvalidRequest, "Invalid Request: jsonrpc must be \"2.0\"");
  if (!message.contains("method")) {
    // A response from the client (to a server request we never send): accept it.
    if (message.contains("result") || message.contains("error")) co_return Reply{202, {}};
    co_return error_reply(400, id, kInvalidRequest, "Invalid Request: method is missing");
  }
  if (!message["method"].is_string())
    co_return error_reply(400, id, kInvalidRequest, "Invalid Request: method must be a string");

  Request req;
  req.id = id;
  req.notification = !has_id;
  req.method = message["method"].get<std::string>();
  req.params = message.value("params", json::object());
  if (!req.params.is_object())
    co_return error_reply(400, id, kInvalidParams, "Invalid params: params must be an object");
  req.caller = std::move(caller);
  req.cancel = cancel ? std::move(cancel) : std::make_shared<core::CancelSignal>();
  req.notify = std::move(notify);
  // A caller can cancel only its own requests.
  if (req.notification && req.method == "notifications/cancelled") {
    const json id = req.params.value("requestId", json());
    if (id.is_string() || id.is_number_integer()) cancel_request(req.caller, id);
  }

  const json meta = req.params.value("_meta", json::object());
  req.modern = meta.is_object() && meta.contains(kMetaVersion) && meta[kMetaVersion].is_string();
  if (req.modern) co_return co_await dispatch_modern(req, headers);

  if (headers.protocol_version) {
    const std::string& h = *headers.protocol_version;
    if (h == kModernVersion)
      co_return error_reply(400, id, kInvalidParams,
                            std::string("Invalid params: a ") + kModernVersion +
                                " request must carry _meta." + kMetaVersion);
    if (!is_legacy_version(h) && req.method != "initialize")
      co_return error_reply(400, id, kUnsupportedVersion, "Unsupported protocol version: " + h,
                            {{"supported", supported_versions()}, {"requested", h}});
  }
  co_return co_await dispatch_legacy(req);
}

// Tool parameters a tool's schema mirrors into Mcp-Param-{name} headers
// (x-mcp-header) must match the arguments; the reason when one does not.
std::optional<std::string> Dispatcher::param_header_mismatch(const json& params, const Headers& headers) const {
  const auto tool = params.find("name");
  if (tool == params.end() || !tool->is_string()) return std::nullopt;
  const auto mirrored = param_headers_.find(tool->get_ref<const std::string&>());
  if (mirrored == param_headers_.end()) return std::nullopt;
  const auto args = params.find("arguments");
  if (args == params.end() || !args->is_object()) return std::nullopt;
  for (const auto& [property, header] : mirrored->second) {
    const auto value = args->find(property);
    if (value == args->end() || value->is_null()) continue;
    std::string key = header;
    std::transform(key.begin(), key.end(), key.begin(), ::tolower);
    const auto it = headers.params.find(key);
    if (it == headers.params.end()) return "Mcp-Param-" + header + " header is required";
    const std::string expected = value->is_string() ? value->get<std::string>() : value->dump();
    if (decode_header_value(it->second) != expected)
      return "Mcp-Param-" + header + " header does not match argument '" + property + "'";
  }
  return std::nullopt;
}

awaitable<Reply> Dispatcher::dispatch_modern(Request& req, const Headers& headers) {
  const json& meta = req.params["_meta"];
  const std::string version = meta[kMetaVersion].get<std::string>();
  if (headers.http && headers.protocol_version && *headers.protocol_version != version)
    co_return error_reply(400, req.id, kHeaderMismatch,
                          "Header mismatch: MCP-Protocol-Version header '" + *headers.protocol_version +
                              "' does not match _meta protocolVersion '" + version + "'");
  if (version != kModernVersion)
    co_return error_reply(400, req.id, kUnsupportedVersion, "Unsupported protocol version: " + version,
                          {{"supported", supported_versions()}, {"requested", version}});
  if (!meta.contains(kMetaCapabilities) || !meta[kMetaCapabilities].is_object())
    co_return error_reply(400, req.id, kInvalidParams,
                          std::string("Invalid params: _meta.") + kMetaCapabilities + " is required");
  if (req.notification) co_return Reply{202, {}};
  if (headers.http) {
    if (!headers.protocol_version)
      co_return error_reply(400, req.id, kHeaderMismatch, "Header mismatch: MCP-Protocol-Version header is required");
    if (!headers.method || *headers.method != req.method)
      co_return error_reply(400, req.id, kHeaderMismatch,
                            "Header mismatch: Mcp-Method header '" + headers.method.value_or("") +
                                "' does not match body method '" + req.method + "'");
    if (req.method == "tools/call" || req.method == "resources/read" || req.method == "prompts/get") {
      const json& n = req.params.contains("name") ? req.params["name"] : req.params.value("uri", json());
      const std::string body_name = n.is_string() ? n.get<std::string>() : "";
      if (!headers.name || decode_header_value(*headers.name) != body_name)
        co_return error_reply(400, req.id, kHeaderMismatch,
                              "Header mismatch: Mcp-Name header '" + headers.name.value_or("") +
                                  "' does not match body value '" + body_name + "'");
    }
    if (req.method == "tools/call")
      if (auto mismatch = param_header_mismatch(req.params, headers))
        co_return error_reply(400, req.id, kHeaderMismatch, "Header mismatch: " + *mismatch);
  }

  if (req.method == "server/discover") {
    json discovered = {{"supportedVersions", supported_versions()},
                       {"capabilities", capabilities()},
                       {"instructions", instructions()}};
    co_return result(req, std::move(discovered), kListTtlMs);
  }
  if (auto reply = co_await dispatch_common(req)) co_return std::move(*reply);
  co_return error_reply(404, req.id, kMethodNotFound, "Method not found: " + req.method);
}

awaitable<Reply> Dispatcher::dispatch_legacy(Request& req) {
  if (req.notification) co_return Reply{202, {}};  // initialized, cancelled, progress, ...
  if (req.method == "initialize") {
    const json requested = req.params.value("protocolVersion", json());
    std::string version = kLegacyVersions[0];
    if (requested.is_string() && is_legacy_version(requested.get<std::string>())) version = requested;
    json initialized = {{"protocolVersion", version},
                        {"capabilities", capabilities()},
                        {"serverInfo", {{"name", info_.name}, {"version", info_.version}}},
                        {"instructions", instructions()}};
    co_return result(req, std::move(initialized));
  }
  if (req.method == "ping") co_return result(req, json::object());
  // Accepted for clients that set a level; only the conformance fixtures log.
  if (req.method == "logging/setLevel") co_return result(req, json::object());
  if (fixtures_ && (req.method == "resources/subscribe" || req.method == "resources/unsubscribe"))
    co_return result(req, json::object());
  if (auto reply = co_await dispatch_common(req)) co_return std::move(*reply);
  co_return error_reply(200, req.id, kMethodNotFound, "Method not found: " + req.method);
}

awaitable<std::optional<Reply>> Dispatcher::dispatch_common(Request& req) {
  const std::string& m = req.method;
  if (m == "tools/list") co_return list_page(req, "tools", tools_json_, kListTtlMs);
  if (m == "tools/call") co_return co_await call_tool(req);
  if (m == "resources/list") co_return co_await list_resources(req);
  if (m == "resources/templates/list") {
    json items = json::array();
    for (const auto& t : resources::templates())
      items.push_back({{"uriTemplate", t.uri_template},
                       {"name", t.name},
                       {"title", t.title},
                       {"description", t.description},
                       {"mimeType", t.mime_type}});
    if (fixtures_)
      for (const auto& t : fixtures_->templates()) items.push_back(t);
    co_return list_page(req, "resourceTemplates", items, kListTtlMs);
  }
  if (m == "resources/read") co_return co_await read_resource(req);
  if (m == "prompts/list") co_return list_page(req, "prompts", prompts_json_, kListTtlMs);
  if (m == "prompts/get") co_return get_prompt(req);
  if (m == "completion/complete") co_return co_await complete(req);
  co_return std::nullopt;
}

Reply Dispatcher::result(const Request& req, json result, std::optional<int> ttl_ms) const {
  if (req.modern) {
    if (!result.contains("resultType")) result["resultType"] = "complete";
    if (ttl_ms && result["resultType"] == "complete") {
      result["ttlMs"] = *ttl_ms;
      result["cacheScope"] = "public";  // the same for every caller: one role, one policy
    }
    result["_meta"] = server_meta_;
  }
  return Reply{200, dump({{"jsonrpc", "2.0"}, {"id", req.id}, {"result", std::move(result)}})};
}

Reply Dispatcher::list_page(Request& req, const char* key, const json& items, int ttl_ms) {
  const auto offset = decode_cursor(key, req.params.value("cursor", json()));
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
  resources::Context catalog{db_, config_, req.cancel};
  auto entries = co_await resources::list(catalog);
  if (!entries) co_return error_reply(200, req.id, kInternalError, "Could not list resources: " + entries.error().message);
  json items = fixtures_ ? fixtures_->resources() : json::array();
  for (const auto& e : *entries)
    items.push_back({{"uri", e.uri},
                     {"name", e.name},
                     {"title", e.title},
                     {"description", e.description},
                     {"mimeType", e.mime_type}});
  co_return list_page(req, "resources", items, kResourceTtlMs);
}

awaitable<Reply> Dispatcher::read_resource(Request& req) {
  const json uri = req.params.value("uri", json());
  if (!uri.is_string()) co_return error_reply(200, req.id, kInvalidParams, "Invalid params: resources/read needs a uri");
  if (fixtures_)
    if (auto fixture = fixtures_->read_resource(uri.get<std::string>()))
      co_return result(req, std::move(*fixture), kResourceTtlMs);
  resources::Context catalog{db_, config_, req.cancel};
  auto contents = co_await resources::read(uri.get<std::string>(), catalog);
  if (!contents) {
    const core::Error& e = contents.error();
    // The legacy revisions have a code of their own for this; the modern one
    // uses invalid params.
    if (e.kind == core::ErrorKind::NotFound)
      co_return error_reply(200, req.id, req.modern ? kInvalidParams : kResourceNotFound, e.message,
                            {{"uri", uri}});
    co_return error_reply(200, req.id, kInternalError, "Could not read " + uri.get<std::string>() + ": " + e.message);
  }
  json read = {{"contents", json::array({{{"uri", contents->uri},
                                          {"mimeType", contents->mime_type},
                                          {"text", contents->text}}})}};
  co_return result(req, std::move(read), kResourceTtlMs);
}

Reply Dispatcher::get_prompt(Request& req) {
  const json name = req.params.value("name", json());
  if (fixtures_ && name.is_string() && fixtures_->has_prompt(name.get<std::string>()))
    return outcome_reply(req, fixtures_->get_prompt(req.params));
  const prompts::Prompt* prompt = nullptr;
  for (const auto& p : prompts::fleet_prompts())
    if (name.is_string() && p.name == name.get<std::string>()) prompt = &p;
  if (!prompt)
    return error_reply(200, req.id, kInvalidParams,
                       "Invalid params: unknown prompt " + (name.is_string() ? name.get<std::string>() : name.dump()));
  prompts::Arguments args;
  const json given = req.params.value("arguments", json::object());
  if (!given.is_object()) return error_reply(200, req.id, kInvalidParams, "Invalid params: arguments must be an object");
  for (const auto& [k, v] : given.items()) {
    if (!v.is_string())
      return error_reply(200, req.id, kInvalidParams, "Invalid params: argument '" + k + "' must be a string");
    args[k] = v.get<std::string>();
  }
  auto text = prompts::render(*prompt, args);
  if (!text) return error_reply(200, req.id, kInvalidParams, "Invalid params: " + text.error().message);
  json got = {{"description", prompt->description},
              {"messages", json::array({{{"role", "user"}, {"content", {{"type", "text"}, {"text", *text}}}}})}};
  return result(req, std::move(got));
}

awaitable<Reply> Dispatcher::complete(Request& req) {
  const json ref = req.params.value("ref", json());
  const json argument = req.params.value("argument", json());
  if (!ref.is_object() || !argument.is_object() || !argument.value("name", json()).is_string() ||
      !argument.value("value", json()).is_string())
    co_return error_reply(200, req.id, kInvalidParams,
                          "Invalid params: completion/complete needs ref and argument {name, value}");
  const std::string type = ref.value("type", "");
  bool known = false;
  if (type == "ref/prompt") {
    for (const auto& p : prompts::fleet_prompts()) known = known || p.name == ref.value("name", "");
    if (fixtures_ && fixtures_->has_prompt(ref.value("name", ""))) {  // nothing to offer
      json none = {{"values", json::array()}, {"total", 0}, {"hasMore", false}};
      co_return result(req, {{"completion", none}});
    }
  } else if (type == "ref/resource") {
    for (const auto& t : resources::templates()) known = known || t.uri_template == ref.value("uri", "");
  }
  if (!known)
    co_return error_reply(200, req.id, kInvalidParams, "Invalid params: unknown completion reference " + ref.dump());
  std::map<std::string, std::string> context;
  const json given = req.params.value("context", json::object()).value("arguments", json::object());
  if (given.is_object())
    for (const auto& [k, v] : given.items())
      if (v.is_string()) context[k] = v.get<std::string>();
  resources::Context catalog{db_, config_, req.cancel};
  auto done = co_await resources::complete(argument["name"].get<std::string>(), argument["value"].get<std::string>(),
                                           std::move(context), catalog);
  if (!done) co_return error_reply(200, req.id, kInternalError, "Could not complete: " + done.error().message);
  json completion = {{"values", done->values},
                     {"total", done->total},
                     {"hasMore", done->total > done->values.size()}};
  co_return result(req, {{"completion", completion}});
}

awaitable<Reply> Dispatcher::call_tool(Request& req) {
  const json name = req.params.value("name", json());
  if (!name.is_string())
    co_return error_reply(200, req.id, kInvalidParams, "Invalid params: tools/call needs a tool name");
  if (fixtures_ && fixtures_->has_tool(name.get<std::string>())) {
    // A legacy client's capabilities were declared once, at initialize; a
    // stateless server cannot know them, so they are taken as all declared.
    const json caps = req.modern ? req.params["_meta"][kMetaCapabilities]
                                 : json{{"sampling", json::object()}, {"elicitation", json::object()},
                                        {"roots", json::object()}};
    conformance::Call call{req.params, caps, req.modern, req.notify};
    co_return outcome_reply(req, co_await fixtures_->call_tool(std::move(call)));
  }
  const tools::Tool* tool = nullptr;
  for (const auto& t : tools_)
    if (t.name == name) tool = &t;
  if (!tool) co_return error_reply(200, req.id, kInvalidParams, "Unknown tool: " + name.get<std::string>());
  const json args = req.params.value("arguments", json::object());
  if (!args.is_object())
    co_return error_reply(200, req.id, kInvalidParams, "Invalid params: arguments must be an object");

  audit::Record record;
  record.caller = req.caller;
  record.tool = tool->name;
  tools::CallContext ctx{db_, config_, policy_, record, req.cancel};
  const std::string key = inflight_key(req.caller, req.id);
  {
    std::lock_guard lock(inflight_mu_);
    inflight_[key] = req.cancel;
  }
  // Progress when the client asked for it and the transport can carry it.
  std::shared_ptr<ProgressTicker> ticker;
  const json token = req.params.value("_meta", json::object()).value("progressToken", json());
  if (req.notify && (token.is_string() || token.is_number_integer())) {
    ticker = std::make_shared<ProgressTicker>(co_await boost::asio::this_coro::executor);
    ctx.rows_fetched = &ticker->rows;
    if (co_await req.notify(progress_notification(token, 0, 0)))
      boost::asio::co_spawn(ticker->tick.get_executor(), tick_progress(ticker, token, req.notify, req.cancel),
                            boost::asio::detached);
    else
      ticker->exited = true;
  }
  const auto started = std::chrono::steady_clock::now();
  auto outcome = co_await tool->run(args, ctx);
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
  record.ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();

  std::string result = "{";
  if (outcome) {
    record.outcome = "ok";
    const std::string& structured = outcome->structured;
    result.reserve(structured.size() * 2 + 256);
    result += "\"content\":[{\"type\":\"text\",\"text\":";
    fleetmcp::json::append_string(result, structured);
    result += "}],\"structuredContent\":";
    result += structured;
    result += ",\"isError\":false";
  } else {
    const core::Error& e = outcome.error();
    record.outcome = e.kind == core::ErrorKind::Denied ? "denied" : "error";
    record.error = std::string(core::kind_name(e.kind));
    record.sqlstate = e.sqlstate;
    record.rule = e.rule;
    result += "\"content\":[{\"type\":\"text\",\"text\":";
    fleetmcp::json::append_string(result, tool_error_text(e, record.sql));
    result += "}],\"isError\":true";
  }
  audit_.write(record);
  if (req.modern) {
    result += ",\"resultType\":\"complete\",\"_meta\":";
    result += server_meta_text_;
  }
  result += "}";
  std::string body = "{\"jsonrpc\":\"2.0\",\"id\":" + dump(req.id) + ",\"result\":";
  body.reserve(body.size() + result.size() + 1);
  body += result;
  body += "}";
  co_return Reply{200, std::move(body)};
}

}  // namespace fleetmcp::mcp
