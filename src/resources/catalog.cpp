#include "resources/catalog.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "catalog/relations.hpp"
#include "pg/params.hpp"
#include "pg/row.hpp"
#include "resources/uri.hpp"

namespace fleetmcp::resources {

using boost::asio::awaitable;
using core::ErrorKind;
using core::make_error;

namespace {

constexpr std::size_t kMaxCompletions = 100;

// Everything readable in the readable schemas ($1), for resources/list.
constexpr const char* kReadableObjects = R"SQL(
SELECT schema, name, kind, comment FROM (
  SELECT n.nspname AS schema, c.relname AS name, )SQL" FLEETMCP_RELATION_KIND R"SQL( AS kind,
         obj_description(c.oid, 'pg_class') AS comment
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = ANY($1::text[]) AND )SQL" FLEETMCP_LISTED_RELATION R"SQL(
  UNION ALL
  SELECT n.nspname, p.proname, 'function', min(obj_description(p.oid, 'pg_proc'))
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname = ANY($1::text[]) AND )SQL" FLEETMCP_READABLE_FUNCTION R"SQL(
  GROUP BY n.nspname, p.proname
) o ORDER BY schema, kind = 'function', name
)SQL";

// One relation as a JSON document, built by PostgreSQL. $3: sensitive column
// names, lowercased, flagged so a model knows not to ask for them; $4: the
// readable schemas (tables elsewhere that refer to this one stay unnamed).
// A column's default, comment and sensitive flag appear only where they say
// something (a null default or a false flag repeated on every column was
// most of a wide table's document).
constexpr const char* kRelationDocument = R"SQL(
SELECT json_build_object(
  'schema', n.nspname, 'name', c.relname,
  'kind', )SQL" FLEETMCP_RELATION_KIND R"SQL(,
  'comment', obj_description(c.oid, 'pg_class'),
  'row_estimate', )SQL" FLEETMCP_ROW_ESTIMATE R"SQL(,
  'columns', (SELECT coalesce(json_agg(json_strip_nulls(json_build_object(
                'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                'nullable', NOT a.attnotnull, 'default', pg_get_expr(d.adbin, d.adrelid),
                'comment', col_description(c.oid, a.attnum),
                'sensitive', CASE WHEN lower(a.attname) = ANY($3::text[]) THEN true END)) ORDER BY a.attnum), '[]')
              FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
  'primary_key', (SELECT json_agg(a.attname ORDER BY k.ord)
                  FROM pg_index i CROSS JOIN unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                  WHERE i.indrelid = c.oid AND i.indisprimary),
  'foreign_keys', (SELECT coalesce(json_agg(json_build_object(
                     'name', f.conname, 'references', f.confrelid::regclass::text,
                     'definition', pg_get_constraintdef(f.oid)) ORDER BY f.conname), '[]')
                   FROM pg_constraint f WHERE f.conrelid = c.oid AND f.contype = 'f'),
  'referenced_by', (SELECT coalesce(json_agg(json_build_object(
                      'name', f.conname, 'table', f.conrelid::regclass::text,
                      'definition', pg_get_constraintdef(f.oid)) ORDER BY f.conname), '[]')
                    FROM pg_constraint f JOIN pg_class rc ON rc.oid = f.conrelid
                    JOIN pg_namespace rn ON rn.oid = rc.relnamespace
                    WHERE f.confrelid = c.oid AND f.contype = 'f' AND rn.nspname = ANY($4::text[])),
  'indexes', (SELECT coalesce(json_agg(json_build_object(
                'name', ic.relname, 'unique', i.indisunique, 'primary', i.indisprimary,
                'definition', pg_get_indexdef(i.indexrelid)) ORDER BY ic.relname), '[]')
              FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid)
)::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND )SQL" FLEETMCP_READABLE_RELATION R"SQL(
)SQL";

// All overloads of one function name.
constexpr const char* kFunctionDocument = R"SQL(
SELECT json_build_object(
  'schema', $1::text, 'name', $2::text, 'kind', 'function',
  'overloads', json_agg(json_build_object(
    'call', quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' || pg_get_function_arguments(p.oid) || ')',
    'returns', pg_get_function_result(p.oid),
    'comment', obj_description(p.oid, 'pg_proc'),
    'volatility', CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END,
    'language', l.lanname) ORDER BY p.oid)
)::text
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
WHERE n.nspname = $1 AND p.proname = $2 AND )SQL" FLEETMCP_READABLE_FUNCTION R"SQL(
HAVING count(*) > 0
)SQL";

// The overview: one line per relation (columns without the sensitive ones)
// and per function overload. Each column may carry a short note compiled
// from the catalog (`notes`): its comment (where units are written), the
// values an enum or a one-column CHECK allows, or the CHECK itself.
constexpr const char* kOverview = R"SQL(
SELECT schema, name, kind, row_estimate, comment, detail, notes, relname FROM (
  SELECT n.nspname AS schema, quote_ident(c.relname) AS name, )SQL" FLEETMCP_RELATION_KIND R"SQL( AS kind,
         )SQL" FLEETMCP_ROW_ESTIMATE R"SQL( AS row_estimate,
         obj_description(c.oid, 'pg_class') AS comment,
         string_agg(col.plain, ', ' ORDER BY col.attnum) AS detail,
         string_agg(col.plain || coalesce(' [' || col.note || ']', ''), ', ' ORDER BY col.attnum) AS notes,
         c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN LATERAL (
    SELECT a.attnum, quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) AS plain,
           nullif(concat_ws('; ',
             left(regexp_replace(col_description(c.oid, a.attnum), '\s+', ' ', 'g'), 200),
             (SELECT 'one of ' || string_agg(e.enumlabel, '|' ORDER BY e.enumsortorder)
              FROM pg_enum e WHERE e.enumtypid = a.atttypid),
             (SELECT string_agg(CASE WHEN d ~ '= ANY \(+ARRAY\['
                                     THEN 'one of ' || (SELECT string_agg(m[1], '|')
                                                        FROM regexp_matches(d, '''((?:[^'']|'''')*)''', 'g') m)
                                     ELSE 'check ' || left(regexp_replace(d, '^CHECK \((.*)\)$', '\1'), 120) END, '; ')
              FROM pg_constraint k, LATERAL pg_get_constraintdef(k.oid) d
              WHERE k.conrelid = c.oid AND k.contype = 'c' AND k.conkey = ARRAY[a.attnum])), '') AS note
    FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      AND NOT lower(a.attname) = ANY($2::text[])) col ON true
  WHERE n.nspname = ANY($1::text[]) AND )SQL" FLEETMCP_LISTED_RELATION R"SQL(
  GROUP BY n.nspname, c.oid
  UNION ALL
  SELECT n.nspname, quote_ident(p.proname) || '(' || pg_get_function_arguments(p.oid) || ')', 'function',
         NULL, obj_description(p.oid, 'pg_proc'), pg_get_function_result(p.oid), NULL, NULL
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname = ANY($1::text[]) AND )SQL" FLEETMCP_READABLE_FUNCTION R"SQL(
) o ORDER BY schema, kind = 'function', name
)SQL";

constexpr const char* kCompleteRelations = R"SQL(
SELECT DISTINCT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1::text[]) AND )SQL" FLEETMCP_LISTED_RELATION R"SQL( AND starts_with(c.relname, $2)
ORDER BY 1
)SQL";

constexpr const char* kCompleteFunctions = R"SQL(
SELECT DISTINCT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = ANY($1::text[]) AND )SQL" FLEETMCP_READABLE_FUNCTION R"SQL( AND starts_with(p.proname, $2)
ORDER BY 1
)SQL";

#undef FLEETMCP_READABLE_RELATION
#undef FLEETMCP_LISTED_RELATION
#undef FLEETMCP_READABLE_FUNCTION
#undef FLEETMCP_RELATION_KIND
#undef FLEETMCP_ROW_ESTIMATE

awaitable<core::Result<pg::RunOutput>> run_one(Context& ctx, const char* sql, std::vector<std::string> params) {
  pg::Plan plan;
  plan.statement_timeout_ms = ctx.config.statement_timeout_ms;
  plan.as = ctx.as;
  plan.statements.push_back({sql, std::move(params)});
  co_return co_await ctx.db.run(std::move(plan), ctx.cancel);
}

bool readable(const config::Config& config, const std::string& schema) {
  const auto& s = config.readable_schemas;
  return std::find(s.begin(), s.end(), schema) != s.end();
}

core::Error not_found(const std::string& uri) { return make_error(ErrorKind::NotFound, "Resource not found: " + uri); }

std::string with_commas(const std::string& digits) {
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// The overview is what a model reads first: about 12,000 tokens at most.
constexpr std::size_t kOverviewCap = 48 * 1024;

awaitable<core::Result<Contents>> overview(Context& ctx) {
  std::vector<std::string> params{pg::text_array(ctx.config.readable_schemas),
                                  pg::text_array(ctx.config.redact_columns, true)};
  auto ran = co_await run_one(ctx, kOverview, std::move(params));
  if (!ran) co_return ran.error();
  const PGresult* r = ran->results.at(0).get();
  const auto snapshot = ctx.catalog ? ctx.catalog->current() : nullptr;
  // With the columns' notes while the page stays under the cap, else without
  // (the per-table resources keep every comment).
  const auto page = [&](bool notes) {
    std::string text = "# Database overview\n\nReadable schemas: ";
    for (std::size_t i = 0; i < ctx.config.readable_schemas.size(); ++i)
      text += (i ? ", " : "") + ctx.config.readable_schemas[i];
    text += ". Sensitive columns are left out here and cannot be queried.";
    text += notes ? " A column's [note] is its comment and the values its type or CHECK constraint allows."
                  : " Column notes were left out to keep this page short.";
    text += " A relation's period, where known, is the range of its indexed date or time column.";
    text += " Read fleetmcp://table/{schema}/{table} for a relation's keys, indexes and column comments.\n";
    std::string schema;
    for (int row = 0; row < PQntuples(r); ++row) {
      const pg::Row object(r, row);
      if (object.text("schema") != schema) {
        schema = object.text("schema");
        text += "\n## " + schema + "\n";
      }
      const std::string kind = object.text("kind"), estimate = object.text("row_estimate"),
                        comment = object.text("comment"),
                        detail = object.text(notes && kind != "function" ? "notes" : "detail");
      text += "- " + object.text("name") + " (" + kind;
      if (!estimate.empty()) text += ", ~" + with_commas(estimate) + " rows";
      if (const auto* covered = snapshot ? snapshot->coverage_of(schema, object.text("relname")) : nullptr)
        text += "; " + catalog::describe(*covered);
      text += ")";
      if (!detail.empty()) text += kind == "function" ? " -> " + detail : ": " + detail;
      if (!comment.empty()) text += ". " + comment;
      text += "\n";
    }
    return text;
  };
  std::string text = page(true);
  if (text.size() > kOverviewCap) text = page(false);
  if (text.size() > kOverviewCap) {
    text.resize(text.rfind('\n', kOverviewCap - 200) + 1);
    text += "\n(The overview stops here at " + std::to_string(kOverviewCap) +
            " bytes: call list_tables per schema and read fleetmcp://table/{schema}/{table} for the rest.)\n";
  }
  co_return Contents{kOverviewUri, "text/markdown", std::move(text)};
}

}  // namespace

awaitable<core::Result<std::vector<Entry>>> list(Context ctx) {
  std::vector<std::string> params{pg::text_array(ctx.config.readable_schemas)};
  auto ran = co_await run_one(ctx, kReadableObjects, std::move(params));
  if (!ran) co_return ran.error();
  const PGresult* r = ran->results.at(0).get();
  std::vector<Entry> entries;
  entries.push_back({kOverviewUri, "overview", "Database overview",
                     "Start here: every readable table, view and function with its columns, in one page.",
                     "text/markdown"});
  for (int row = 0; row < PQntuples(r); ++row) {
    const pg::Row object(r, row);
    const std::string schema = object.text("schema"), name = object.text("name"), kind = object.text("kind"),
                      comment = object.text("comment");
    const bool function = kind == "function";
    Entry e;
    e.uri = object_uri(function ? "function" : "table", schema, name);
    e.name = schema + "." + name;
    e.title = e.name + " (" + kind + ")";
    e.description = comment.empty() ? "The " + kind + " " + e.name + "." : comment;
    e.mime_type = "application/json";
    entries.push_back(std::move(e));
  }
  co_return entries;
}

const std::vector<Template>& templates() {
  static const std::vector<Template> all = {
      {kTableTemplate, "table", "Table, view or materialized view",
       "Columns (type, nullability, default, comment, sensitive), primary and foreign keys, indexes and "
       "row estimate of one relation in a readable schema.",
       "application/json"},
      {kFunctionTemplate, "function", "Function",
       "Signatures, return types, comments and volatility of a function in a readable schema.", "application/json"},
  };
  return all;
}

awaitable<core::Result<Contents>> read(std::string uri, Context ctx) {
  if (uri == kOverviewUri) co_return co_await overview(ctx);
  const auto object = parse_object_uri(uri);
  if (!object || !readable(ctx.config, object->schema)) co_return not_found(uri);
  const std::string &kind = object->kind, &schema = object->schema, &name = object->name;
  std::vector<std::string> params{schema, name};
  if (kind == "table") {
    params.push_back(pg::text_array(ctx.config.redact_columns, true));
    params.push_back(pg::text_array(ctx.config.readable_schemas));
  }
  auto ran = co_await run_one(ctx, kind == "table" ? kRelationDocument : kFunctionDocument, std::move(params));
  if (!ran) co_return ran.error();
  const PGresult* r = ran->results.at(0).get();
  if (PQntuples(r) == 0) co_return not_found(uri);
  std::string document = PQgetvalue(r, 0, 0);  // the one column: the document
  const auto snapshot = ctx.catalog ? ctx.catalog->current() : nullptr;
  if (const auto* c = kind == "table" && snapshot ? snapshot->coverage_of(schema, name) : nullptr) {
    // The period the rows cover, from the time axis's index (see catalog::Coverage).
    document.pop_back();  // the closing brace
    document += ",\"coverage\":" +
                nlohmann::json{{"column", c->column},
                               {"first", c->first.empty() ? nullptr : nlohmann::json(c->first)},
                               {"last", c->last.empty() ? nullptr : nlohmann::json(c->last)}}
                    .dump() +
                "}";
  }
  co_return Contents{std::move(uri), "application/json", std::move(document)};
}

awaitable<core::Result<Completion>> complete(std::string argument, std::string prefix,
                                             std::map<std::string, std::string> arguments, Context ctx) {
  Completion out;
  std::vector<std::string> all;
  if (argument == "schema") {
    for (const auto& s : ctx.config.readable_schemas)
      if (s.rfind(prefix, 0) == 0) all.push_back(s);
    std::sort(all.begin(), all.end());
  } else if (argument == "table" || argument == "function") {
    std::vector<std::string> schemas = ctx.config.readable_schemas;
    if (auto it = arguments.find("schema"); it != arguments.end() && !it->second.empty()) {
      if (!readable(ctx.config, it->second)) co_return out;
      schemas = {it->second};
    }
    std::vector<std::string> params{pg::text_array(schemas), prefix};
    auto ran = co_await run_one(ctx, argument == "table" ? kCompleteRelations : kCompleteFunctions, std::move(params));
    if (!ran) co_return ran.error();
    const PGresult* r = ran->results.at(0).get();
    for (int row = 0; row < PQntuples(r); ++row) all.push_back(PQgetvalue(r, row, 0));  // the one column: a name
  }
  out.total = all.size();
  if (all.size() > kMaxCompletions) all.resize(kMaxCompletions);
  out.values = std::move(all);
  co_return out;
}

}  // namespace fleetmcp::resources
