#include "mcp/dispatcher.hpp"

#include <openssl/evp.h>

#include <chrono>

#include "json/writer.hpp"
#include "mcp/errors.hpp"

namespace fleetmcp::mcp {

using boost::asio::awaitable;
using nlohmann::json;

namespace {

constexpr const char* kMetaVersion = "io.modelcontextprotocol/protocolVersion";
constexpr const char* kMetaCapabilities = "io.modelcontextprotocol/clientCapabilities";
constexpr const char* kMetaServerInfo = "io.modelcontextprotocol/serverInfo";
// Tools change only with a restart; clients may cache the list this long.
constexpr int kListTtlMs = 300000;

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
};

Dispatcher::Dispatcher(const config::Config& config, pg::Database& db, audit::Sink& audit,
                       ServerInfo info)
    : config_(config),
      db_(db),
      audit_(audit),
      info_(std::move(info)),
      server_meta_{{kMetaServerInfo, {{"name", info_.name}, {"version", info_.version}}}},
      server_meta_text_(dump(server_meta_)),
      policy_{config.enforce_schemas, config.readable_schemas, config.redact_columns},
      tools_(tools::make_tools()) {}

std::string Dispatcher::instructions() const {
  std::string schemas;
  for (const auto& s : config_.readable_schemas) schemas += (schemas.empty() ? "" : ", ") + s;
  return "Read-only access to a PostgreSQL fleet-telemetry database. Readable schemas: " + schemas +
         ". Start with list_schemas, list_tables and describe_table to learn the structure, then "
         "answer questions with one SELECT per query call. Results are capped at max_rows "
         "(default 1000, at most " + std::to_string(config_.max_rows) +
         "); truncated=true means more rows existed: aggregate, filter or add a time range in SQL "
         "instead of fetching everything. Each query has a " +
         std::to_string(config_.statement_timeout_ms / 1000) +
         " s statement timeout. Writes, DDL, SET and side-effecting functions are rejected.";
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
                                    core::CancelPtr cancel) {
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
  // A caller can cancel only its own requests.
  if (req.notification && req.method == "notifications/cancelled") {
    const json id = req.params.value("requestId", json());
    if (id.is_string() || id.is_number_integer()) cancel_request(req.caller, id);
  }

  const json meta = req.params.value("_meta", json::object());
  const bool modern = meta.is_object() && meta.contains(kMetaVersion) && meta[kMetaVersion].is_string();
  if (modern) co_return co_await dispatch_modern(req, headers);

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
  }

  if (req.method == "server/discover") {
    json result = {{"resultType", "complete"},
                   {"supportedVersions", supported_versions()},
                   {"capabilities", {{"tools", json::object()}}},
                   {"instructions", instructions()},
                   {"ttlMs", kListTtlMs},
                   {"cacheScope", "public"},
                   {"_meta", server_meta_}};
    co_return Reply{200, dump({{"jsonrpc", "2.0"}, {"id", req.id}, {"result", result}})};
  }
  if (req.method == "tools/list") co_return Reply{200, tools_list_result(req.id, true)};
  if (req.method == "tools/call") co_return co_await call_tool(req, true);
  co_return error_reply(404, req.id, kMethodNotFound, "Method not found: " + req.method);
}

awaitable<Reply> Dispatcher::dispatch_legacy(Request& req) {
  if (req.notification) co_return Reply{202, {}};  // initialized, cancelled, progress, ...
  if (req.method == "initialize") {
    const json requested = req.params.value("protocolVersion", json());
    std::string version = kLegacyVersions[0];
    if (requested.is_string() && is_legacy_version(requested.get<std::string>())) version = requested;
    json result = {{"protocolVersion", version},
                   {"capabilities", {{"tools", json::object()}}},
                   {"serverInfo", {{"name", info_.name}, {"version", info_.version}}},
                   {"instructions", instructions()}};
    co_return Reply{200, dump({{"jsonrpc", "2.0"}, {"id", req.id}, {"result", result}})};
  }
  if (req.method == "ping")
    co_return Reply{200, dump({{"jsonrpc", "2.0"}, {"id", req.id}, {"result", json::object()}})};
  if (req.method == "tools/list") co_return Reply{200, tools_list_result(req.id, false)};
  if (req.method == "tools/call") co_return co_await call_tool(req, false);
  co_return error_reply(200, req.id, kMethodNotFound, "Method not found: " + req.method);
}

std::string Dispatcher::tools_list_result(const json& id, bool modern) const {
  json list = json::array();
  for (const auto& t : tools_)
    list.push_back({{"name", t.name},
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
  json result = {{"tools", list}};
  if (modern) {
    result["resultType"] = "complete";
    result["ttlMs"] = kListTtlMs;
    result["cacheScope"] = "public";
    result["_meta"] = server_meta_;
  }
  return dump({{"jsonrpc", "2.0"}, {"id", id}, {"result", result}});
}

awaitable<Reply> Dispatcher::call_tool(Request& req, bool modern) {
  const json name = req.params.value("name", json());
  if (!name.is_string())
    co_return error_reply(200, req.id, kInvalidParams, "Invalid params: tools/call needs a tool name");
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
  const auto started = std::chrono::steady_clock::now();
  auto outcome = co_await tool->run(args, ctx);
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
  if (modern) {
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
