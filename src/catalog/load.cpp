#include "catalog/load.hpp"

#include "catalog/relations.hpp"
#include "pg/params.hpp"
#include "pg/row.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <cstring>
#include <tuple>

namespace fleetmcp::catalog {
namespace {

namespace asio = boost::asio;

// The columns of a function row, shared by the function, operator and cast
// queries (read by name in function_at).
constexpr const char* kFunctionColumns =
    "pn.nspname AS function_schema, p.proname AS function_name, "
    "pg_get_function_identity_arguments(p.oid) AS arguments, p.pronargs AS nargs, p.pronargdefaults AS ndefaults, "
    "p.provariadic <> 0 AS variadic, p.provolatile AS volatility, l.lanname AS language, "
    "EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid "
    "AND d.deptype = 'e') AS from_extension";
constexpr const char* kFunctionJoins =
    " JOIN pg_namespace pn ON pn.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang";
// Functions behind operators and casts pass by construction when PostgreSQL
// or an extension ships them stable or immutable; only the others are kept.
constexpr const char* kNeedsJudging =
    " AND (p.provolatile = 'v' OR (pn.nspname NOT IN ('pg_catalog', 'information_schema') AND NOT EXISTS "
    "(SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')))";

Function function_at(const pg::Row& row) {
  Function f;
  f.schema = row.text("function_schema");
  f.name = row.text("function_name");
  f.arguments = row.text("arguments");
  f.nargs = static_cast<int>(row.number("nargs"));
  f.ndefaults = static_cast<int>(row.number("ndefaults"));
  f.variadic = row.flag("variadic");
  f.volatility = static_cast<Volatility>(row.text("volatility").at(0));
  f.language = row.text("language");
  f.from_extension = row.flag("from_extension");
  return f;
}

}  // namespace

asio::awaitable<core::Result<std::shared_ptr<const Catalog>>> load(pg::Database& db, const LoadOptions& options) {
  pg::Plan plan;
  plan.for_caller = false;
  plan.statements.push_back({"SELECT unnest(current_schemas(true))::text", {}});
  // Every function, not only those the role may execute: the verdict is the
  // same for every role, and PostgreSQL refuses the rest with its own error.
  plan.statements.push_back({std::string("SELECT ") + kFunctionColumns + " FROM pg_proc p" + kFunctionJoins, {}});
  plan.statements.push_back({std::string("SELECT o.oprname AS operator, on_.nspname AS operator_schema, ") +
                                 kFunctionColumns +
                                 " FROM pg_operator o JOIN pg_namespace on_ ON on_.oid = o.oprnamespace"
                                 " JOIN pg_proc p ON p.oid = o.oprcode" +
                                 kFunctionJoins + " WHERE true" + kNeedsJudging,
                             {}});
  // Casts to types that are not built in (PostgreSQL's own objects have oids
  // below 16384): their cast functions, and the type's input function.
  plan.statements.push_back(
      {std::string("SELECT t.typname AS type, ") + kFunctionColumns +
           " FROM pg_type t JOIN pg_proc p ON p.oid IN (SELECT c.castfunc FROM pg_cast c WHERE c.casttarget = t.oid"
           " AND c.castfunc <> 0 UNION SELECT t.typinput)" +
           kFunctionJoins + " WHERE t.oid >= 16384" + kNeedsJudging,
       {}});
  plan.statements.push_back(
      {"SELECT c.oid, n.nspname, c.relname, a.attname, a.attnum, lower(a.attname) = ANY ($1::text[]) AS sensitive"
       " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
       " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
       " WHERE c.relkind IN " FLEETMCP_RELKINDS " AND c.oid IN (SELECT attrelid FROM pg_attribute"
       " WHERE attnum > 0 AND NOT attisdropped AND lower(attname) = ANY ($1::text[]))"
       " ORDER BY c.oid, a.attnum",
       {pg::text_array(options.sensitive_columns, true)}});
  // Time axes: a readable date or timestamp column leading a btree index of a
  // table or materialized view (the first such column per relation).
  plan.statements.push_back(
      {"SELECT DISTINCT ON (c.oid) quote_ident(n.nspname) AS schema_sql, quote_ident(c.relname) AS relation_sql,"
       " quote_ident(a.attname) AS column_sql, n.nspname, c.relname, a.attname"
       " FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
       " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]"
       " JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'"
       " WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname = ANY ($1::text[])"
       " AND a.atttypid IN ('date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype)"
       " AND NOT lower(a.attname) = ANY ($2::text[])"
       " AND has_column_privilege(c.oid, a.attnum, 'SELECT')"
       " ORDER BY c.oid, i.indisprimary DESC, a.attnum",
       {pg::text_array(options.readable_schemas), pg::text_array(options.sensitive_columns, true)}});
  auto ran = co_await db.run(std::move(plan));
  if (!ran) co_return ran.error();

  auto catalog = std::make_shared<Catalog>();
  catalog->live = true;
  catalog->loaded_at = std::chrono::system_clock::now();
  const auto& results = ran->results;
  catalog->search_path.clear();
  for (int r = 0; r < PQntuples(results[0].get()); ++r)
    catalog->search_path.emplace_back(PQgetvalue(results[0].get(), r, 0));  // the one column
  const PGresult* functions = results[1].get();
  catalog->functions.reserve(PQntuples(functions));
  for (int r = 0; r < PQntuples(functions); ++r) catalog->add_function(function_at(pg::Row(functions, r)));
  const PGresult* operators = results[2].get();
  for (int r = 0; r < PQntuples(operators); ++r) {
    const pg::Row row(operators, r);
    catalog->operators[row.text("operator")].push_back({row.text("operator_schema"), function_at(row)});
  }
  const PGresult* casts = results[3].get();
  for (int r = 0; r < PQntuples(casts); ++r) {
    const pg::Row row(casts, r);
    catalog->type_functions[row.text("type")].push_back(function_at(row));
  }
  const PGresult* columns = results[4].get();
  std::string last_oid;
  SensitiveRelation* relation = nullptr;
  for (int r = 0; r < PQntuples(columns); ++r) {
    const pg::Row row(columns, r);
    if (last_oid != row.text("oid")) {
      last_oid = row.text("oid");
      auto& list = catalog->sensitive_relations[row.text("relname")];
      list.push_back({row.text("nspname"), {}});
      relation = &list.back();
    }
    relation->columns.emplace_back(row.text("attname"));
    if (row.flag("sensitive"))
      catalog->sensitive_attributes.insert((std::uint64_t{std::strtoul(last_oid.c_str(), nullptr, 10)} << 16) |
                                           static_cast<unsigned>(row.number("attnum")));
  }
  // Each axis's first and last value: two index probes per relation, in one
  // statement. A failure (a lock, the timeout) leaves coverage unknown, not
  // the catalog.
  const PGresult* axes = results[5].get();
  if (PQntuples(axes) > 0) {
    std::string sql;
    for (int r = 0; r < PQntuples(axes); ++r) {
      const pg::Row axis(axes, r);
      const std::string table = axis.text("schema_sql") + "." + axis.text("relation_sql");
      const std::string column = axis.text("column_sql");
      sql += (r ? " UNION ALL " : "") + std::string("SELECT ") + std::to_string(r) + " AS axis, (SELECT min(" + column +
             ")::text FROM " + table + ") AS lowest, (SELECT max(" + column + ")::text FROM " + table + ") AS highest";
    }
    pg::Plan probe;
    probe.for_caller = false;
    probe.statements.push_back({sql + " ORDER BY 1", {}});
    if (auto probed = co_await db.run(std::move(probe))) {
      const PGresult* ranges = probed->results[0].get();
      for (int r = 0; r < PQntuples(ranges); ++r) {
        const pg::Row range(ranges, r);
        const pg::Row axis(axes, static_cast<int>(range.number("axis")));
        catalog->coverage.push_back({axis.text("nspname"), axis.text("relname"), axis.text("attname"),
                                     range.text("lowest"), range.text("highest")});
      }
      std::sort(catalog->coverage.begin(), catalog->coverage.end(), [](const Coverage& a, const Coverage& b) {
        return std::tie(a.schema, a.relation) < std::tie(b.schema, b.relation);
      });
    }
  }
  co_return std::shared_ptr<const Catalog>(std::move(catalog));
}

Refresher::Refresher(asio::io_context& io, pg::Database& db, Store& store, LoadOptions options,
                     std::chrono::seconds every)
    : strand_(asio::make_strand(io)),
      db_(db),
      store_(store),
      options_(std::move(options)),
      every_(every),
      timer_(std::make_unique<asio::steady_timer>(*strand_)) {
  store_.on_stale([this] { request(); });
}

void Refresher::start() { asio::co_spawn(*strand_, loop(), asio::detached); }

void Refresher::stop() {
  stopped_ = true;
  asio::post(*strand_, [this] {
    if (timer_) timer_->cancel();
  });
}

void Refresher::request() {
  asio::post(*strand_, [this] {
    if (timer_) timer_->cancel();
  });
}

asio::awaitable<void> Refresher::loop() {
  constexpr auto kRetry = std::chrono::seconds(5);   // while the database is away
  constexpr auto kAtMost = std::chrono::seconds(5);  // between requested reloads
  bool loaded = false, warned = false;
  while (!stopped_) {
    auto result = co_await load(db_, options_);
    if (result) {
      store_.replace(std::move(*result));
      loaded = true;
    } else {
      store_.failed(result.error());
    }
    if (!result && !loaded && !warned) {
      warned = true;
      std::fprintf(stderr, "fleetmcp: the catalog could not be loaded yet (%s); retrying every 5 s\n",
                   result.error().message.c_str());
    }
    if (stopped_) break;
    // Sleep until the schedule, or until request() cancels the wait; then at
    // least kAtMost so a burst of requests makes one reload.
    timer_->expires_after(loaded ? every_ : kRetry);
    boost::system::error_code ec;
    co_await timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_) break;
    if (ec) {
      timer_->expires_after(kAtMost);
      co_await timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
}

}  // namespace fleetmcp::catalog
