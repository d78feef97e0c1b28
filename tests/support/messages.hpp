// One valid message of every method and notification the server knows, in
// both eras: what the hostile-input tests and the JSON-RPC fuzzer mutate.
#pragma once

#include <iterator>
#include <nlohmann/json.hpp>
#include <vector>

namespace fleetmcp::testing {

inline constexpr const char* kMessages[] = {
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"f","version":"1"}}})",
    R"({"jsonrpc":"2.0","method":"notifications/initialized"})",
    R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1,"reason":"x"}})",
    R"({"jsonrpc":"2.0","id":2,"method":"ping"})",
    R"({"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"cursor":"x"}})",
    R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT 1","max_rows":5},"_meta":{"progressToken":"p"}}})",
    R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"describe_table","arguments":{"schema":"reporting","table":"v_trips"}}})",
    R"({"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"list_tables","arguments":{"schema":"tickets"}}})",
    R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"sample_table","arguments":{"schema":"tickets","table":"tickets","limit":3}}})",
    R"({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"list_functions","arguments":{"schema":"fuel"}}})",
    R"({"jsonrpc":"2.0","id":9,"method":"resources/list","params":{}})",
    R"({"jsonrpc":"2.0","id":10,"method":"resources/templates/list"})",
    R"({"jsonrpc":"2.0","id":11,"method":"resources/read","params":{"uri":"fleetmcp://overview"}})",
    R"({"jsonrpc":"2.0","id":12,"method":"prompts/list"})",
    R"({"jsonrpc":"2.0","id":13,"method":"prompts/get","params":{"name":"fleet_overview","arguments":{"a":"b"}}})",
    R"({"jsonrpc":"2.0","id":14,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"fleetmcp://table/{schema}/{table}"},"argument":{"name":"table","value":"v"},"context":{"arguments":{"schema":"reporting"}}}})",
    R"({"jsonrpc":"2.0","id":15,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}})",
    R"({"jsonrpc":"2.0","id":16,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT 1"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}})",
    R"({"jsonrpc":"2.0","id":17,"method":"logging/setLevel","params":{"level":"info"}})",
};

// Every member of `j` by JSON pointer, the root (the empty pointer) first:
// the places the hostile-input tests and the fuzzer put a wrong value.
inline void member_pointers(const nlohmann::json& j, const nlohmann::json::json_pointer& at,
                            std::vector<nlohmann::json::json_pointer>& out) {
  out.push_back(at);
  if (j.is_object())
    for (const auto& [k, v] : j.items()) member_pointers(v, at / k, out);
  else if (j.is_array())
    for (std::size_t i = 0; i < j.size(); ++i) member_pointers(j[i], at / i, out);
}

}  // namespace fleetmcp::testing
