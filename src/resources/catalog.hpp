// The database's structure as MCP resources: one per readable table, view,
// materialized view and function (columns, types, comments, keys, indexes, row
// estimate), one compact overview a model can read first, templates for
// addressing any relation by schema and name, and completion of schema and
// table names. Everything is read from PostgreSQL's catalog, as the read-only
// role sees it, in the readable schemas only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <map>
#include <string>
#include <vector>

#include "catalog/catalog.hpp"
#include "config/config.hpp"
#include "core/cancel.hpp"
#include "core/result.hpp"
#include "pg/runner.hpp"
#include "resources/uri.hpp"

namespace fleetmcp::resources {

struct Entry {
  std::string uri, name, title, description, mime_type;
};

struct Template {
  std::string uri_template, name, title, description, mime_type;
};

struct Contents {
  std::string uri, mime_type, text;
};

struct Context {
  pg::Runner& db;
  const config::Config& config;
  core::CancelPtr cancel;
  const catalog::Store* catalog = nullptr;  // for the relations' coverage (may be null)
  pg::RunAs as{};                           // the analyst's role and application_name
};

// The overview first, then relations and functions by schema and name.
boost::asio::awaitable<core::Result<std::vector<Entry>>> list(Context ctx);
const std::vector<Template>& templates();
// ErrorKind::NotFound for a URI that names nothing readable.
boost::asio::awaitable<core::Result<Contents>> read(std::string uri, Context ctx);

// Values for a `schema` or `table` argument (a prompt's or a template's)
// starting with `prefix`; `table` narrows to `arguments["schema"]` when given.
// Empty for any other argument name.
struct Completion {
  std::vector<std::string> values;  // at most 100, sorted
  std::size_t total = 0;
};
boost::asio::awaitable<core::Result<Completion>> complete(std::string argument, std::string prefix,
                                                          std::map<std::string, std::string> arguments, Context ctx);

}  // namespace fleetmcp::resources
