-- wrk script: every request is one legacy-era MCP tools/call of the query tool.
-- Inputs come from the environment so query_throughput.sh can reuse one script:
--   BENCH_SQL, BENCH_MAX_ROWS, BENCH_TOKEN, BENCH_GZIP.
-- done() prints one machine-readable line; query_throughput.sh takes the error
-- count from it (its request rate comes from the server's audit lines, counted
-- over the measured window only, not from wrk's totals).

local sql = assert(os.getenv("BENCH_SQL"), "BENCH_SQL is not set")
local max_rows = tonumber(os.getenv("BENCH_MAX_ROWS") or "10001")
local token = assert(os.getenv("BENCH_TOKEN"), "BENCH_TOKEN is not set")

-- JSON string escaping for what a benchmark statement can contain.
local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
-- BENCH_GZIP=1: ask for gzip, as Node and Python clients do (the server then
-- spends CPU compressing every reply over MCP_GZIP_MIN_BYTES).
if os.getenv("BENCH_GZIP") == "1" then wrk.headers["Accept-Encoding"] = "gzip" end
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"query",'
  .. '"arguments":{"sql":' .. json_string(sql) .. ',"max_rows":' .. max_rows .. '}}}'

-- No response() hook on purpose: it would run Lua for every reply and slow wrk
-- down; the script checks one reply with curl before measuring instead.
-- Latencies are in microseconds; errors.status counts HTTP replies >= 400.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH rps=%.1f p50_us=%d p99_us=%d requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), summary.requests,
    e.connect + e.read + e.write + e.status + e.timeout))
end
