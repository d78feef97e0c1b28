#include "catalog/catalog.hpp"

namespace fleetmcp::catalog {
namespace {

struct BuiltinRow {
  const char* schema;
  const char* name;
  const char* arguments;
  int nargs;
  int ndefaults;
  bool variadic;
  char volatility;
  const char* language;
};

const BuiltinRow kBuiltin[] = {
#include "catalog/builtin_pg15.inc"
};

}  // namespace

const char* volatility_name(Volatility v) {
  switch (v) {
    case Volatility::Immutable: return "immutable";
    case Volatility::Stable: return "stable";
    case Volatility::Volatile: return "volatile";
  }
  return "volatile";
}

void Catalog::add_function(Function f) {
  auto& overloads = functions[f.name];
  overloads.push_back(std::move(f));
}

std::shared_ptr<const Catalog> builtin() {
  static const std::shared_ptr<const Catalog> catalog = [] {
    auto c = std::make_shared<Catalog>();
    c->functions.reserve(3000);
    for (const auto& row : kBuiltin)
      c->add_function({row.schema, row.name, row.arguments, row.nargs, row.ndefaults, row.variadic,
                       static_cast<Volatility>(row.volatility), row.language, false});
    return c;
  }();
  return catalog;
}

}  // namespace fleetmcp::catalog
