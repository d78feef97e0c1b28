// Google Benchmark: the guard (validate + fingerprint, every call judged against
// a loaded catalog) on short, typical and long queries, and the row encoder on a synthetic 1,000-row result. Reported,
// not asserted; ctest runs it once briefly so it cannot rot.
#include <benchmark/benchmark.h>
#include <libpq-fe.h>
#include <pg_query.h>
#include <simdjson.h>

#include <cstring>
#include <string>

#include "json/csv.hpp"
#include "json/rows.hpp"
#include "sql/guard.hpp"

namespace {

// A loaded catalog as the server has it: PostgreSQL's functions (every call
// in the query is looked up and judged) and a relation with sensitive columns.
const fleetmcp::catalog::Store& live_catalog() {
  static fleetmcp::catalog::Store store;
  static const bool loaded = [] {
    auto c = std::make_shared<fleetmcp::catalog::Catalog>(*fleetmcp::catalog::builtin());
    c->live = true;
    c->sensitive_relations["users"].push_back({"tickets", {"id", "email", "password_hash"}});
    store.replace(c);
    return true;
  }();
  (void)loaded;
  return store;
}

const fleetmcp::sql::Policy kPolicy{
    true, {"reporting", "tracksolid", "tickets", "fuel"}, {"password", "token"}, &live_catalog()};

// A typical analyst query (about 1 KB).
std::string typical_query() {
  return R"(WITH daily AS (
  SELECT p.imei, date_trunc('day', p.ts) AS day, count(*) AS points, max(p.speed) AS max_speed,
         avg(p.speed) FILTER (WHERE p.ignition) AS avg_moving_speed
  FROM tracksolid.positions p
  WHERE p.ts >= now() - interval '30 days' AND p.speed IS NOT NULL
  GROUP BY 1, 2
), ranked AS (
  SELECT d.*, dev.name, dev.cost_centre,
         rank() OVER (PARTITION BY dev.cost_centre ORDER BY d.max_speed DESC) AS speed_rank
  FROM daily d JOIN tracksolid.devices dev USING (imei)
  WHERE dev.active AND dev.name NOT ILIKE '%test%'
)
SELECT cost_centre, name, day, points, round(max_speed::numeric, 1) AS max_speed,
       round(avg_moving_speed::numeric, 1) AS avg_moving_speed
FROM ranked
WHERE speed_rank <= 5
  AND cost_centre IN (SELECT cost_centre FROM tracksolid.devices GROUP BY 1 HAVING count(*) > 1)
ORDER BY cost_centre, speed_rank, day DESC
LIMIT 200)";
}

std::string query_of_size(std::size_t bytes) {
  if (bytes <= 120) return "SELECT imei, name, cost_centre FROM tracksolid.devices WHERE imei = '860000000000001'";
  std::string q = typical_query();
  // Grow with more predicates, as generated queries do.
  for (int i = 0; q.size() < bytes; ++i)
    q.insert(q.rfind("ORDER BY"), "  AND name <> 'vehicle " + std::to_string(i) + "'\n");
  return q;
}

void BM_GuardValidate(benchmark::State& state) {
  const std::string sql = query_of_size(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auto verdict = fleetmcp::sql::validate(sql, kPolicy);
    if (!verdict) state.SkipWithError(verdict.error().message.c_str());
    benchmark::DoNotOptimize(verdict);
  }
  state.SetLabel(std::to_string(sql.size()) + " bytes");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * sql.size()));
}
BENCHMARK(BM_GuardValidate)->Arg(100)->Arg(1000)->Arg(20000)->Unit(benchmark::kMicrosecond);

// The fixed part of BM_GuardValidate that is not the guard's own: libpg_query's
// parse to JSON text, then that text into simdjson's DOM. The guard's verdict
// (walk, catalog look-ups, fingerprint) is the difference to BM_GuardValidate.
void BM_GuardParse(benchmark::State& state) {
  const std::string sql = query_of_size(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    PgQueryParseResult parsed = pg_query_parse(sql.c_str());
    benchmark::DoNotOptimize(parsed.parse_tree);
    pg_query_free_parse_result(parsed);
  }
  state.SetLabel(std::to_string(sql.size()) + " bytes");
}
BENCHMARK(BM_GuardParse)->Arg(1000)->Unit(benchmark::kMicrosecond);

void BM_GuardParseAndDom(benchmark::State& state) {
  const std::string sql = query_of_size(static_cast<std::size_t>(state.range(0)));
  simdjson::dom::parser json;
  for (auto _ : state) {
    PgQueryParseResult parsed = pg_query_parse(sql.c_str());
    simdjson::dom::element tree;
    if (json.parse(parsed.parse_tree, std::strlen(parsed.parse_tree)).get(tree) != simdjson::SUCCESS)
      state.SkipWithError("simdjson");
    benchmark::DoNotOptimize(tree);
    pg_query_free_parse_result(parsed);
  }
  state.SetLabel(std::to_string(sql.size()) + " bytes");
}
BENCHMARK(BM_GuardParseAndDom)->Arg(1000)->Unit(benchmark::kMicrosecond);

// A 1,000-row result with the column types of tracksolid.positions.
PGresult* positions_result() {
  PGresult* r = PQmakeEmptyPGresult(nullptr, PGRES_TUPLES_OK);
  PGresAttDesc attrs[] = {
      {const_cast<char*>("id"), 0, 0, 0, 20, 8, -1},       {const_cast<char*>("imei"), 0, 0, 0, 25, -1, -1},
      {const_cast<char*>("ts"), 0, 0, 0, 1184, 8, -1},     {const_cast<char*>("lat"), 0, 0, 0, 701, 8, -1},
      {const_cast<char*>("lng"), 0, 0, 0, 701, 8, -1},     {const_cast<char*>("speed"), 0, 0, 0, 700, 4, -1},
      {const_cast<char*>("ignition"), 0, 0, 0, 16, 1, -1}, {const_cast<char*>("extra"), 0, 0, 0, 3802, -1, -1}};
  PQsetResultAttrs(r, 8, attrs);
  for (int row = 0; row < 1000; ++row) {
    const std::string values[] = {std::to_string(row + 1),
                                  "860000000000001",
                                  "2026-01-01 00:00:00+00",
                                  "-1.2834567",
                                  "36.8234567",
                                  "42.5",
                                  row % 2 ? "t" : "f",
                                  "{\"seq\": " + std::to_string(row) + ", \"note\": \"a \\\"quoted\\\" word\"}"};
    for (int c = 0; c < 8; ++c)
      PQsetvalue(r, row, c, const_cast<char*>(values[c].c_str()), static_cast<int>(values[c].size()));
  }
  return r;
}

// A 1,000-row result shaped like bench/query_throughput.sh's bench_readings
// (W2, W3): no value needs escaping or quoting, as in most results.
PGresult* readings_result() {
  PGresult* r = PQmakeEmptyPGresult(nullptr, PGRES_TUPLES_OK);
  PGresAttDesc attrs[] = {
      {const_cast<char*>("id"), 0, 0, 0, 20, 8, -1},          {const_cast<char*>("imei"), 0, 0, 0, 25, -1, -1},
      {const_cast<char*>("ts"), 0, 0, 0, 1184, 8, -1},        {const_cast<char*>("lat"), 0, 0, 0, 701, 8, -1},
      {const_cast<char*>("lng"), 0, 0, 0, 701, 8, -1},        {const_cast<char*>("speed"), 0, 0, 0, 700, 4, -1},
      {const_cast<char*>("heading"), 0, 0, 0, 21, 2, -1},     {const_cast<char*>("ignition"), 0, 0, 0, 16, 1, -1},
      {const_cast<char*>("odometer"), 0, 0, 0, 1700, -1, -1}, {const_cast<char*>("fuel_level"), 0, 0, 0, 700, 4, -1},
      {const_cast<char*>("driver"), 0, 0, 0, 25, -1, -1}};
  PQsetResultAttrs(r, 11, attrs);
  for (int row = 0; row < 1000; ++row) {
    const std::string values[] = {std::to_string(row + 1),
                                  "86000000010000" + std::to_string(row % 10),
                                  "2026-01-01 00:00:04+00",
                                  "-1.2798269",
                                  "36.8331313",
                                  "70",
                                  std::to_string(row * 37 % 360),
                                  row % 3 ? "t" : "f",
                                  "10000.137",
                                  "13.3",
                                  "Driver " + std::to_string(row % 50)};
    for (int c = 0; c < 11; ++c)
      PQsetvalue(r, row, c, const_cast<char*>(values[c].c_str()), static_cast<int>(values[c].size()));
  }
  return r;
}

// What a query call does per row: read it from libpq once, write it as a JSON
// object (structuredContent) and as a CSV line (the text). One iteration is
// 1,000 rows, so the time per iteration is the time per 1,000 rows.
void BM_EncodeRows(benchmark::State& state) {
  PGresult* result = state.range(0) ? readings_result() : positions_result();
  const auto columns = fleetmcp::json::describe_columns(result);
  std::string rows, text;
  std::vector<fleetmcp::json::Value> values;
  for (auto _ : state) {
    rows.clear();
    text.clear();
    for (int r = 0; r < 1000; ++r) {
      fleetmcp::json::read_row(result, r, values);
      if (r) rows.push_back(',');
      fleetmcp::json::append_object_and_csv_line(rows, text, values, columns);
    }
    benchmark::DoNotOptimize(rows.data());
    benchmark::DoNotOptimize(text.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (rows.size() + text.size())));
  state.SetItemsProcessed(state.iterations() * 1000);
  PQclear(result);
}
// 0: tracksolid.positions' types, with a JSON column (the general encoders);
// 1: bench_readings' (the one-pass path).
BENCHMARK(BM_EncodeRows)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
