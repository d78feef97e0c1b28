#include "conformance/fixtures.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <regex>

namespace fleetmcp::conformance {

using boost::asio::awaitable;
using nlohmann::json;

namespace {

// The reference server's payloads: a 1x1 PNG and an empty WAV.
constexpr const char* kPng =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
constexpr const char* kWav = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

const json kEmptySchema = {{"type", "object"}, {"properties", json::object()}};

json text(const std::string& t) { return {{"content", json::array({{{"type", "text"}, {"text", t}}})}}; }

Failure invalid(const std::string& message, json data = nullptr) { return {200, -32602, message, std::move(data)}; }

json elicit(const std::string& message, const std::string& field, const char* type) {
  json schema = {{"type", "object"}, {"properties", {{field, {{"type", type}}}}}, {"required", {field}}};
  return {{"method", "elicitation/create"}, {"params", {{"message", message}, {"requestedSchema", schema}}}};
}

json sampling(const std::string& question, int max_tokens) {
  return {{"method", "sampling/createMessage"},
          {"params",
           {{"messages", json::array({{{"role", "user"}, {"content", {{"type", "text"}, {"text", question}}}}})},
            {"maxTokens", max_tokens}}}};
}

const json kRoots = {{"method", "roots/list"}, {"params", json::object()}};

json input_required(json requests, const std::string& state = {}) {
  json r = {{"resultType", "input_required"}, {"inputRequests", std::move(requests)}};
  if (!state.empty()) r["requestState"] = state;
  return r;
}

std::string base64url(const unsigned char* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

// The 2020-12 schema the suite compares field by field.
json schema_2020_12() {
  return json::parse(R"({
    "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
    "$defs": {"address": {"$anchor": "addressDef", "type": "object",
              "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
    "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"},
                   "contactMethod": {"type": "string", "enum": ["phone", "email"]},
                   "phone": {"type": "string"}, "email": {"type": "string"}},
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]}, "else": {"required": ["email"]},
    "additionalProperties": false})");
}

}  // namespace

Fixtures::Fixtures() : key_(32, '\0') {
  RAND_bytes(reinterpret_cast<unsigned char*>(key_.data()), static_cast<int>(key_.size()));
  tools_ = json::array();
  auto add_tool = [&](const char* name, const char* description, json schema = kEmptySchema) {
    tools_.push_back({{"name", name}, {"description", description}, {"inputSchema", std::move(schema)}});
  };
  add_tool("test_simple_text", "Returns one text block");
  add_tool("test_image_content", "Returns a PNG image");
  add_tool("test_audio_content", "Returns a WAV clip");
  add_tool("test_embedded_resource", "Returns an embedded text resource");
  add_tool("test_multiple_content_types", "Returns text, an image and a resource");
  add_tool("test_tool_with_logging", "Logs three messages while it runs");
  add_tool("test_tool_with_progress", "Reports progress 0, 50, 100 of 100");
  add_tool("test_error_handling", "Always fails, in-band");
  add_tool("json_schema_2020_12_tool", "Takes arguments described by a JSON Schema 2020-12", schema_2020_12());
  add_tool("test_missing_capability", "Needs the client's sampling capability");
  add_tool("test_streaming_elicitation", "Asks the client to confirm, as an input-required result");
  add_tool("test_logging_tool", "Logs only when the request asks for a log level");
  add_tool("test_custom_header", "Mirrors its region argument in the Mcp-Param-Region header",
           {{"type", "object"},
            {"properties", {{"region", {{"type", "string"}, {"x-mcp-header", "Region"}}}}},
            {"required", {"region"}}});
  for (const char* name : {"test_input_required_result_elicitation", "test_input_required_result_sampling",
                           "test_input_required_result_list_roots", "test_input_required_result_request_state",
                           "test_input_required_result_multiple_inputs", "test_input_required_result_multi_round",
                           "test_input_required_result_tampered_state", "test_input_required_result_capabilities"})
    add_tool(name, "Multi-round input: asks the client for input before it completes");

  prompts_ = json::array({
      {{"name", "test_simple_prompt"}, {"description", "A prompt without arguments"}},
      {{"name", "test_prompt_with_arguments"},
       {"description", "A prompt with two arguments"},
       {"arguments", json::array({{{"name", "arg1"}, {"required", true}}, {{"name", "arg2"}, {"required", true}}})}},
      {{"name", "test_prompt_with_embedded_resource"},
       {"description", "A prompt embedding a resource"},
       {"arguments", json::array({{{"name", "resourceUri"}, {"required", true}}})}},
      {{"name", "test_prompt_with_image"}, {"description", "A prompt with an image"}},
      {{"name", "test_input_required_result_prompt"}, {"description", "A prompt that asks for input first"}},
  });
  resources_ = json::array({
      {{"uri", "test://static-text"}, {"name", "static-text"}, {"mimeType", "text/plain"}},
      {{"uri", "test://static-binary"}, {"name", "static-binary"}, {"mimeType", "image/png"}},
      {{"uri", "test://watched-resource"}, {"name", "watched-resource"}, {"mimeType", "text/plain"}},
  });
  templates_ = json::array(
      {{{"uriTemplate", "test://template/{id}/data"}, {"name", "template"}, {"mimeType", "application/json"}}});
}

bool Fixtures::has_tool(const std::string& name) const {
  for (const auto& t : tools_)
    if (t["name"] == name) return true;
  return false;
}

bool Fixtures::has_prompt(const std::string& name) const {
  for (const auto& p : prompts_)
    if (p["name"] == name) return true;
  return false;
}

// state.mac: a requestState the client hands back and cannot forge.
std::string Fixtures::sign(const std::string& state) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(state.data()),
       state.size(), mac, &n);
  return base64url(reinterpret_cast<const unsigned char*>(state.data()), state.size()) + "." + base64url(mac, n);
}

std::optional<std::string> Fixtures::verify(const json& token) const {
  if (!token.is_string()) return std::nullopt;
  const std::string& t = token.get_ref<const std::string&>();
  const auto dot = t.find('.');
  if (dot == std::string::npos) return std::nullopt;
  // States are short ASCII names: recover by trying the signature of each.
  for (const char* state : {"test_input_required_result_request_state:1", "test_input_required_result_tampered_state:1",
                            "multi:1", "round:1", "round:2"}) {
    const std::string expected = sign(state);
    if (expected.size() == t.size() && CRYPTO_memcmp(expected.data(), t.data(), t.size()) == 0) return state;
  }
  return std::nullopt;
}

Outcome Fixtures::input_required_tool(const std::string& name, const json& params, const json& caps) const {
  const json responses = params.value("inputResponses", json());
  if (!responses.is_null()) {
    if (!responses.is_object()) return invalid("Invalid params: inputResponses must be an object");
    for (const auto& [k, v] : responses.items())
      if (!v.is_object()) return invalid("Invalid params: input response '" + k + "' must be an object");
  }
  const bool answered = responses.is_object();
  const json state = params.value("requestState", json());
  auto has = [&](const char* key) { return answered && responses.contains(key); };

  if (name == "test_streaming_elicitation") {
    if (has("confirm")) return text("confirmed");
    return input_required({{"confirm", elicit("Confirm?", "ok", "boolean")}});
  }
  if (name == "test_input_required_result_elicitation") {
    if (has("user_name") && responses["user_name"].value("action", "") == "accept")
      return text("Hello, " + responses["user_name"].value("content", json::object()).value("name", "") + "!");
    return input_required({{"user_name", elicit("What is your name?", "name", "string")}});
  }
  if (name == "test_input_required_result_sampling") {
    if (has("capital_question")) return text("Sampling answered");
    return input_required({{"capital_question", sampling("What is the capital of France?", 100)}});
  }
  if (name == "test_input_required_result_list_roots") {
    if (has("client_roots")) return text("Roots received");
    return input_required({{"client_roots", kRoots}});
  }
  if (name == "test_input_required_result_request_state" || name == "test_input_required_result_tampered_state") {
    if (answered) {
      if (verify(state) != name + ":1") return invalid("Invalid params: requestState failed its integrity check");
      return text("state-ok");
    }
    return input_required({{"confirm", elicit("Please confirm", "ok", "boolean")}}, sign(name + ":1"));
  }
  if (name == "test_input_required_result_multiple_inputs") {
    if (has("user_name") && has("greeting") && has("client_roots") && verify(state) == "multi:1")
      return text("all inputs received");
    return input_required({{"user_name", elicit("What is your name?", "name", "string")},
                           {"greeting", sampling("Generate a greeting", 50)},
                           {"client_roots", kRoots}},
                          sign("multi:1"));
  }
  if (name == "test_input_required_result_multi_round") {
    const auto s = answered ? verify(state) : std::nullopt;
    if (s == "round:1" && has("step1"))
      return input_required({{"step2", elicit("Step 2: What is your favorite color?", "color", "string")}},
                            sign("round:2"));
    if (s == "round:2" && has("step2")) return text("multi-round complete");
    if (answered && !s) return invalid("Invalid params: requestState failed its integrity check");
    return input_required({{"step1", elicit("Step 1: What is your name?", "name", "string")}}, sign("round:1"));
  }
  // test_input_required_result_capabilities: ask only for what the client can do.
  if (answered) return text("ok");
  json requests = json::object();
  if (caps.contains("sampling")) requests["question"] = sampling("Say hi", 20);
  if (caps.contains("elicitation")) requests["name"] = elicit("Name?", "name", "string");
  return input_required(std::move(requests));
}

awaitable<Outcome> Fixtures::call_tool(Call call) const {
  const std::string name = call.params.value("name", "");
  const json args = call.params.value("arguments", json::object());
  const json meta = call.params.value("_meta", json::object());
  const json& caps = call.client_capabilities;

  if (name == "test_simple_text") co_return text("This is a simple text response for testing.");
  if (name == "test_image_content")
    co_return json{{"content", json::array({{{"type", "image"}, {"data", kPng}, {"mimeType", "image/png"}}})}};
  if (name == "test_audio_content")
    co_return json{{"content", json::array({{{"type", "audio"}, {"data", kWav}, {"mimeType", "audio/wav"}}})}};
  const json embedded = {{"type", "resource"},
                         {"resource",
                          {{"uri", "test://embedded-resource"},
                           {"mimeType", "text/plain"},
                           {"text", "This is an embedded resource content."}}}};
  if (name == "test_embedded_resource") co_return json{{"content", json::array({embedded})}};
  if (name == "test_multiple_content_types")
    co_return json{{"content", json::array({{{"type", "text"}, {"text", "Multiple content types test:"}},
                                            {{"type", "image"}, {"data", kPng}, {"mimeType", "image/png"}},
                                            {{"type", "resource"},
                                             {"resource",
                                              {{"uri", "test://mixed-content-resource"},
                                               {"mimeType", "application/json"},
                                               {"text", R"({"test":"data","value":123})"}}}}})}};
  if (name == "test_error_handling") {
    json r = text("This tool intentionally returns an error for testing");
    r["isError"] = true;
    co_return r;
  }
  if (name == "test_tool_with_logging" || name == "test_logging_tool") {
    // A modern request gets log messages only when its _meta asks for a level.
    const bool wanted = !call.modern || meta.contains("io.modelcontextprotocol/logLevel");
    if (call.emit && wanted) {
      boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor);
      for (const char* m : {"Tool execution started", "Tool processing data", "Tool execution completed"}) {
        json note = {{"jsonrpc", "2.0"},
                     {"method", "notifications/message"},
                     {"params", {{"level", "info"}, {"logger", "fixtures"}, {"data", m}}}};
        if (!co_await call.emit(note.dump())) break;
        pause.expires_after(std::chrono::milliseconds(50));
        boost::system::error_code ec;
        co_await pause.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      }
    }
    co_return text("Tool with logging executed successfully");
  }
  if (name == "test_tool_with_progress") {
    const json token = meta.value("progressToken", json());
    if (call.emit && !token.is_null())
      for (int progress : {0, 50, 100}) {
        json note = {{"jsonrpc", "2.0"},
                     {"method", "notifications/progress"},
                     {"params", {{"progressToken", token}, {"progress", progress}, {"total", 100}}}};
        if (!co_await call.emit(note.dump())) break;
      }
    co_return text(token.dump());
  }
  if (name == "json_schema_2020_12_tool") co_return text(args.dump());
  if (name == "test_custom_header") co_return text("region " + args.value("region", ""));
  if (name == "test_missing_capability") {
    if (!caps.contains("sampling"))
      co_return Failure{400,
                        -32021,
                        "Missing required client capability: sampling",
                        {{"requiredCapabilities", {{"sampling", json::object()}}}}};
    co_return text("sampling declared");
  }
  if (name == "test_streaming_elicitation" && !caps.contains("elicitation"))
    co_return Failure{400,
                      -32021,
                      "Missing required client capability: elicitation",
                      {{"requiredCapabilities", {{"elicitation", json::object()}}}}};
  co_return input_required_tool(name, call.params, caps);
}

Outcome Fixtures::get_prompt(const json& params) const {
  const std::string name = params.value("name", "");
  const json args = params.value("arguments", json::object());
  auto user = [](json content) { return json{{"role", "user"}, {"content", std::move(content)}}; };
  auto messages = [](json list) { return json{{"messages", std::move(list)}}; };
  if (name == "test_simple_prompt")
    return messages(json::array({user({{"type", "text"}, {"text", "This is a simple prompt for testing."}})}));
  if (name == "test_prompt_with_arguments")
    return messages(json::array({user({{"type", "text"},
                                       {"text", "Prompt with arguments: arg1='" + args.value("arg1", "") + "', arg2='" +
                                                    args.value("arg2", "") + "'"}})}));
  if (name == "test_prompt_with_embedded_resource")
    return messages(json::array({user({{"type", "resource"},
                                       {"resource",
                                        {{"uri", args.value("resourceUri", "test://example-resource")},
                                         {"mimeType", "text/plain"},
                                         {"text", "Embedded resource content for testing."}}}}),
                                 user({{"type", "text"}, {"text", "Please process the embedded resource above."}})}));
  if (name == "test_prompt_with_image")
    return messages(json::array({user({{"type", "image"}, {"data", kPng}, {"mimeType", "image/png"}}),
                                 user({{"type", "text"}, {"text", "Please analyze the image above."}})}));
  // test_input_required_result_prompt
  const json responses = params.value("inputResponses", json());
  if (responses.is_object() && !responses.empty()) {
    const json first = responses.begin().value();
    if (!first.is_object()) return invalid("Invalid params: input responses must be objects");
    return messages(json::array(
        {user({{"type", "text"},
               {"text", "Context: " + first.value("content", json::object()).value("context", std::string())}})}));
  }
  return input_required({{"user_context", elicit("What context should the prompt use?", "context", "string")}});
}

std::optional<json> Fixtures::read_resource(const std::string& uri) const {
  auto one = [&](const char* mime, const char* field, std::string body) {
    return json{{"contents", json::array({{{"uri", uri}, {"mimeType", mime}, {field, std::move(body)}}})}};
  };
  if (uri == "test://static-text") return one("text/plain", "text", "This is the content of the static text resource.");
  if (uri == "test://static-binary") return one("image/png", "blob", kPng);
  if (uri == "test://watched-resource") return one("text/plain", "text", "Watched resource content");
  static const std::regex templated("^test://template/([^/]+)/data$");
  std::smatch m;
  if (std::regex_match(uri, m, templated))
    return one("application/json", "text",
               json{{"id", m[1].str()}, {"templateTest", true}, {"data", "Data for ID: " + m[1].str()}}.dump());
  return std::nullopt;
}

}  // namespace fleetmcp::conformance
