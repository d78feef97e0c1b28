#include "sql/guard.hpp"

#include "sql/exceptions.hpp"

#include <pg_query.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace fleetmcp::sql {
namespace {

using core::Error;
using core::ErrorKind;
namespace dom = simdjson::dom;

// The deepest parse tree (in JSON levels) the guard walks. PostgreSQL's own
// limit (max_stack_depth) refuses far less deep statements than its parser reads.
constexpr std::size_t kMaxTreeDepth = 512;
// Bounds on the text, checked before libpg_query sees it. Its parse tree's
// JSON output recurses once per level of a left-nested chain (`1+1+1...`,
// two bytes a level, about 128 bytes of stack each: 65,000 levels overflowed
// an 8 MB stack), and its lexer rescans a run of nested comment openings
// (`/*/*/*...`: 120,000 of them took 98 s). 64 KiB is 32,000 levels at most.
constexpr std::size_t kMaxSqlBytes = 64 * 1024;
constexpr std::size_t kMaxCommentOpenings = 1000;

Error denied(std::string rule, std::string message, int position) {
  Error e;
  e.kind = ErrorKind::Denied;
  e.rule = std::move(rule);
  e.message = std::move(message);
  e.position = position;
  return e;
}

// Statement nodes that are never allowed anywhere in the tree, with the words an
// analyst would recognise. (A data-modifying CTE shows up as one of these inside
// a CommonTableExpr, so the same table covers it.)
const std::pair<const char*, const char*> kStatementWords[] = {
    {"InsertStmt", "INSERT"},
    {"UpdateStmt", "UPDATE"},
    {"DeleteStmt", "DELETE"},
    {"MergeStmt", "MERGE"},
    {"CopyStmt", "COPY"},
    {"DoStmt", "DO"},
    {"CallStmt", "CALL"},
    {"TransactionStmt", "transaction control"},
    {"VariableSetStmt", "SET"},
    {"VariableShowStmt", "SHOW"},
    {"ExplainStmt", "EXPLAIN"},
    {"LockStmt", "LOCK"},
    {"PrepareStmt", "PREPARE"},
    {"ExecuteStmt", "EXECUTE"},
    {"DeallocateStmt", "DEALLOCATE"},
    {"ListenStmt", "LISTEN"},
    {"NotifyStmt", "NOTIFY"},
    {"UnlistenStmt", "UNLISTEN"},
    {"VacuumStmt", "VACUUM/ANALYZE"},
    {"ClusterStmt", "CLUSTER"},
    {"ReindexStmt", "REINDEX"},
    {"RefreshMatViewStmt", "REFRESH MATERIALIZED VIEW"},
    {"DeclareCursorStmt", "DECLARE"},
    {"FetchStmt", "FETCH"},
    {"ClosePortalStmt", "CLOSE"},
    {"CheckPointStmt", "CHECKPOINT"},
    {"DiscardStmt", "DISCARD"},
    {"LoadStmt", "LOAD"},
    {"GrantStmt", "GRANT/REVOKE"},
    {"GrantRoleStmt", "GRANT/REVOKE"},
    {"TruncateStmt", "TRUNCATE"},
    {"CreateTableAsStmt", "CREATE TABLE AS"},
};

const char* statement_word(std::string_view node) {
  if (node.size() < 4 || node.substr(node.size() - 4) != "Stmt") return nullptr;  // fast path: most keys
  for (const auto& [name, word] : kStatementWords)
    if (node == name) return word;
  return nullptr;
}

// Schemas every read may use besides the configured ones.
const std::string_view kSystemSchemas[] = {"pg_catalog", "information_schema"};

template <class List>
bool contains(const List& list, std::string_view name) {
  for (const auto& item : list)
    if (name == item) return true;
  return false;
}

// Byte offset (0-based) to 1-based character position, as PostgreSQL reports it.
int char_position(std::string_view sql, long byte_offset) {
  if (byte_offset < 0) return 0;
  int chars = 0;
  for (long i = 0; i < byte_offset && i < static_cast<long>(sql.size()); ++i)
    if ((static_cast<unsigned char>(sql[i]) & 0xC0) != 0x80) ++chars;
  return chars + 1;
}

// Accessors over libpg_query's JSON tree, for an element or a simdjson_result
// of one. A missing or mistyped field is an error that propagates through
// simdjson_result and reads as empty.
using Node = simdjson::simdjson_result<dom::element>;
template <class E>
std::string_view str(E&& e) {
  std::string_view v;
  return e.get(v) == simdjson::SUCCESS ? v : std::string_view();
}
template <class E>
Node field(E&& e, std::string_view key) {
  return e[key];
}
template <class E>
long int_of(E&& e, std::string_view key, long fallback) {
  int64_t v;
  return e[key].get(v) == simdjson::SUCCESS ? static_cast<long>(v) : fallback;
}
template <class E>
long location_of(E&& e, long fallback) {
  return int_of(e, "location", fallback);
}
// {"String":{"sval":"name"}} -> name
template <class E>
std::string_view string_node(E&& e) {
  return str(e["String"]["sval"]);
}

// A 64-bit hash over the tree without positions and constant values, so that
// statements of the same shape share a fingerprint (the idea of
// pg_query_fingerprint, computed in the same pass instead of a second parse).
// Each piece (a key, a string, a number, a bracket) is read as two 64-bit words
// (wyhash's reads: overlapping loads for up to 16 bytes, 16 bytes a step
// beyond) and folded with its length by one 64x64->128-bit multiply; the state
// takes each piece by xor and an odd multiply (a bijection, so no piece can
// erase what came before), and murmur3's finalizer mixes it at the end. The
// byte-at-a-time FNV-1a it replaces cost about 2 µs of the 1 KB benchmark
// query's ~50 µs; this costs about 1.
// Byte 0 and 4 of kA and kB are 0xFF, which no UTF-8 text holds: a key or a
// string never cancels a factor of the multiply to zero.
struct Fingerprint {
  static constexpr uint64_t kA = 0xa0761dff78bd64ffull, kB = 0xe7037effa0b428ffull, kM = 0x9e3779b97f4a7c15ull;
  uint64_t h = 0x243f6a8885a308d3ull;
  static uint64_t r8(const unsigned char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  static uint64_t r4(const unsigned char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  static uint64_t mum(uint64_t a, uint64_t b) {
    const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
  }
  void add(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t len = s.size();
    uint64_t x = h;  // in a register: the bytes read could alias the member
    uint64_t a = 0, b = 0;
    if (len <= 16) {
      if (len >= 4) {
        const std::size_t d = (len >> 3) << 2;  // 0 for 4..7 bytes, 4 for 8..16
        a = (r4(p) << 32) | r4(p + d);
        b = (r4(p + len - 4) << 32) | r4(p + len - 4 - d);
      } else if (len > 0) {
        a = (uint64_t{p[0]} << 16) | (uint64_t{p[len >> 1]} << 8) | p[len - 1];
      }
    } else {
      std::size_t n = len;
      for (; n > 16; p += 16, n -= 16) x = (x ^ mum(r8(p) ^ kA, r8(p + 8) ^ kB)) * kM;
      a = r8(p + n - 16);  // the last 16 bytes, overlapping the previous step's
      b = r8(p + n - 8);
    }
    h = (x ^ mum(a ^ kA, b ^ kB ^ (uint64_t{len} << 8))) * kM;
  }
  std::string hex() const {
    uint64_t x = h;  // murmur3's fmix64
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(x));
    return buf;
  }
};

// Node types a read may contain (PostgreSQL 16's raw parse tree). Anything
// else is refused as not supported: a new grammar's node is never allowed by
// default. Statement nodes get their own, clearer refusal (kStatementWords).
const std::string_view kReadNodes[] = {
    "A_ArrayExpr",
    "A_Const",
    "A_Expr",
    "A_Indices",
    "A_Indirection",
    "A_Star",
    "Alias",
    "BitString",
    "BoolExpr",
    "Boolean",
    "BooleanTest",
    "CTECycleClause",
    "CTESearchClause",
    "CaseExpr",
    "CaseWhen",
    "CoalesceExpr",
    "CollateClause",
    "ColumnDef",
    "ColumnRef",
    "CommonTableExpr",
    "DefElem",
    "Float",
    "FuncCall",
    "GroupingFunc",
    "GroupingSet",
    "Integer",
    "JoinExpr",
    "JsonAggConstructor",
    "JsonArrayAgg",
    "JsonArrayConstructor",
    "JsonArrayQueryConstructor",
    "JsonFormat",
    "JsonIsPredicate",
    "JsonKeyValue",
    "JsonObjectAgg",
    "JsonObjectConstructor",
    "JsonOutput",
    "JsonReturning",
    "JsonValueExpr",
    "List",
    "MinMaxExpr",
    "NamedArgExpr",
    "NullTest",
    "RangeFunction",
    "RangeSubselect",
    "RangeTableFunc",
    "RangeTableFuncCol",
    "RangeTableSample",
    "RangeVar",
    "ResTarget",
    "RowExpr",
    "SQLValueFunction",
    "SelectStmt",
    "SortBy",
    "String",
    "SubLink",
    "TypeCast",
    "TypeName",
    "WindowDef",
    "WithClause",
    "XmlExpr",
    "XmlSerialize",
};

bool is_node_type(std::string_view key) { return !key.empty() && key[0] >= 'A' && key[0] <= 'Z'; }

// What the walk does with an object key, decided once per key by one table
// look-up instead of a chain of string comparisons.
enum class Key : unsigned char {
  Plain,      // a field or an allowed node type without a check of its own: walked
  Position,   // location, stmt_location, stmt_len: neither walked nor fingerprinted
  Statement,  // a statement node other than SELECT (kStatementWords)
  IntoClause,
  LockingClause,
  ParamRef,
  Unsupported,  // a node type that is not a read
  AConst,       // fingerprinted, not walked
  Cte,
  FuncCall,
  RangeVar,
  ColumnRef,
  Indirection,
  AExpr,
  TypeCast,
  AliasedItem,  // RangeSubselect, RangeFunction, JoinExpr
  OperName,     // operName, useOp
  TargetList,
  ColumnNames,  // usingClause, colnames
};

class KeyTable {
 public:
  KeyTable() {
    for (auto k : {"location", "stmt_location", "stmt_len"}) add(k, Key::Position);
    for (std::size_t i = 0; i < std::size(kStatementWords); ++i)
      add(kStatementWords[i].first, Key::Statement, static_cast<unsigned char>(i));
    add("intoClause", Key::IntoClause);
    add("lockingClause", Key::LockingClause);
    add("ParamRef", Key::ParamRef);
    add("A_Const", Key::AConst);
    add("CommonTableExpr", Key::Cte);
    add("FuncCall", Key::FuncCall);
    add("RangeVar", Key::RangeVar);
    add("ColumnRef", Key::ColumnRef);
    add("A_Indirection", Key::Indirection);
    add("A_Expr", Key::AExpr);
    add("TypeCast", Key::TypeCast);
    for (auto k : {"RangeSubselect", "RangeFunction", "JoinExpr"}) add(k, Key::AliasedItem);
    for (auto k : {"operName", "useOp"}) add(k, Key::OperName);
    add("targetList", Key::TargetList);
    for (auto k : {"usingClause", "colnames"}) add(k, Key::ColumnNames);
    for (auto k : kReadNodes) add(k, Key::Plain);  // keeps the kinds above (first added wins)
  }

  // The key's kind; for Key::Statement, `word` is its index in kStatementWords.
  Key classify(std::string_view key, unsigned char& word) const {
    if (key.empty()) return Key::Plain;
    for (std::size_t i = hash(key);; i = (i + 1) & kMask) {
      const Slot& slot = slots_[i];
      if (slot.key.empty()) break;
      if (slot.key == key) {
        word = slot.word;
        return slot.kind;
      }
    }
    return is_node_type(key) ? Key::Unsupported : Key::Plain;
  }

 private:
  static constexpr std::size_t kMask = 511;
  struct Slot {
    std::string_view key;
    Key kind = Key::Plain;
    unsigned char word = 0;
  };
  static std::size_t hash(std::string_view k) {
    const std::size_t n = k.size();
    const auto at = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(k[i])); };
    return (n * 97 + at(0) * 31 + at(n - 1) * 7 + at(n / 2) * 13 + at((n * 3) / 4)) & kMask;
  }
  void add(std::string_view key, Key kind, unsigned char word = 0) {
    for (std::size_t i = hash(key);; i = (i + 1) & kMask) {
      if (slots_[i].key == key) return;
      if (slots_[i].key.empty()) {
        slots_[i] = {key, kind, word};
        return;
      }
    }
  }
  std::array<Slot, kMask + 1> slots_{};
};

const KeyTable kKeys;

// The nearest enclosing "location" of a node, looked up only when a check or a
// refusal needs it (most nodes never do): a chain up the walk's objects.
struct Where {
  const Where* parent = nullptr;         // null at the root
  const dom::element* object = nullptr;  // the object whose "location" applies (not at the root)
  long fallback = 0;                     // at the root: the statement's location
  mutable long cached = 0;
  mutable bool resolved = false;

  long get() const {
    if (!resolved) {
      int64_t v;
      if (!parent)
        cached = fallback;
      else if ((*object)["location"].get(v) == simdjson::SUCCESS)
        cached = static_cast<long>(v);
      else
        cached = parent->get();
      resolved = true;
    }
    return cached;
  }
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));  // ASCII, as std::tolower in the "C" locale
  return out;
}

// A short list of names (qualified names have one to three parts), kept
// inline so that reading one does not allocate.
class Names {
 public:
  void push_back(std::string_view name) {
    if (size_ < kInline) {
      inline_[size_] = name;
    } else {
      if (more_.empty()) more_.assign(inline_.begin(), inline_.end());
      more_.push_back(name);
    }
    ++size_;
  }
  const std::string_view* begin() const { return size_ <= kInline ? inline_.data() : more_.data(); }
  const std::string_view* end() const { return begin() + size_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view operator[](std::size_t i) const { return begin()[i]; }
  std::string_view back() const { return begin()[size_ - 1]; }

 private:
  static constexpr std::size_t kInline = 4;
  std::array<std::string_view, kInline> inline_{};
  std::vector<std::string_view> more_;
  std::size_t size_ = 0;
};

// Names of a list of {"String":{"sval":…}} nodes; other nodes (A_Star) as "*".
template <class E>
Names names_of(E&& list_node) {
  Names out;
  dom::array list;
  if (list_node.get(list) != simdjson::SUCCESS) return out;
  for (dom::element n : list) {
    std::string_view name = string_node(n);
    out.push_back(name.empty() ? std::string_view("*") : name);
  }
  return out;
}

bool is_system_schema(std::string_view schema) { return contains(kSystemSchemas, schema); }

// Which FROM items (by alias or name) can carry a sensitive column, found
// before the verdict walk: a whole-row reference to one of them is refused.
struct Ranges {
  const catalog::Catalog& catalog;
  std::unordered_map<std::string, bool> names;  // alias, relation or CTE name -> holds a sensitive column
  std::unordered_map<std::string, bool> ctes;
  std::vector<const catalog::SensitiveRelation*> relations;  // sensitive relations read
  bool any = false;                                          // the statement reads one

  // Whether a relation named so may hold a sensitive column (what scan() looks for).
  static bool holds_sensitive(const catalog::Catalog& catalog, std::string_view schema, std::string_view name) {
    if (catalog.sensitive_relations.empty()) return false;
    auto it = catalog.sensitive_relations.find(lower(name));
    if (it == catalog.sensitive_relations.end()) return false;
    for (const auto& r : it->second)
      if (schema.empty() || r.schema == schema) return true;
    return false;
  }

  bool relation_sensitive(std::string_view schema, std::string_view name) {
    auto it = catalog.sensitive_relations.find(lower(name));
    if (it == catalog.sensitive_relations.end()) return false;
    bool found = false;
    for (const auto& r : it->second)
      if (schema.empty() || r.schema == schema) {
        relations.push_back(&r);
        found = true;
      }
    return found;
  }

  void name(std::string_view alias, bool sensitive) {
    if (alias.empty()) return;
    auto& slot = names[std::string(alias)];
    slot = slot || sensitive;
  }

  // Whether the subtree reads a sensitive relation; registers the names of its FROM items.
  bool scan(dom::element node) {
    dom::array array;
    if (node.get(array) == simdjson::SUCCESS) {
      bool t = false;
      for (dom::element child : array) t = scan(child) || t;
      return t;
    }
    dom::object object;
    if (node.get(object) != simdjson::SUCCESS) return false;
    bool t = false;
    for (dom::key_value_pair kv : object) {
      const std::string_view key = kv.key;
      if (key == "RangeVar") {
        const std::string_view schema = str(field(kv.value, "schemaname")), rel = str(field(kv.value, "relname"));
        bool s = false;
        if (schema.empty())
          if (auto c = ctes.find(std::string(rel)); c != ctes.end()) s = c->second;
        s = s || relation_sensitive(schema, rel);
        const std::string_view alias = str(field(field(kv.value, "alias"), "aliasname"));
        name(alias.empty() ? rel : alias, s);
        t = t || s;
      } else if (key == "RangeSubselect" || key == "RangeFunction" || key == "JoinExpr") {
        dom::element inner;
        const bool s = kv.value.get(inner) == simdjson::SUCCESS && scan(inner);
        name(str(field(field(kv.value, "alias"), "aliasname")), s);
        t = t || s;
      } else if (key == "CommonTableExpr") {
        dom::element query;
        const bool s = field(kv.value, "ctequery").get(query) == simdjson::SUCCESS && scan(query);
        auto& slot = ctes[std::string(str(field(kv.value, "ctename")))];
        slot = slot || s;
        name(str(field(kv.value, "ctename")), s);
        t = t || s;
      } else {
        t = scan(kv.value) || t;
      }
    }
    return t;
  }

  void run(dom::element root) {
    // A CTE may be named before it is defined in the tree's field order: while
    // a CTE reads a sensitive relation, scan again until nothing changes.
    for (int pass = 0; pass < 4; ++pass) {
      const auto before = ctes;
      relations.clear();
      any = scan(root);
      const bool sensitive_cte = std::any_of(ctes.begin(), ctes.end(), [](const auto& c) { return c.second; });
      if (!sensitive_cte || ctes == before) break;
    }
  }

  bool sensitive(std::string_view alias) const {
    auto it = names.find(std::string(alias));
    return it != names.end() && it->second;
  }
  bool known_column(std::string_view column) const {
    for (const auto* r : relations)
      for (const auto& c : r->columns)
        if (iequals(c, column)) return true;
    return false;
  }
};

struct Walker {
  std::string_view sql;
  const Policy& policy;
  const catalog::Catalog& catalog;
  const Ranges& ranges;
  std::optional<Error> verdict;
  std::vector<std::string> unqualified;
  std::vector<std::string> qualified;  // "schema.name" of every relation named with its schema
  std::vector<std::string> notes;
  std::vector<long> expansions;  // locations of `*` / `alias.*` that a target list expands
  Fingerprint fingerprint;
  // Speculative: walked with empty Ranges, on the bet that the statement reads
  // no relation with a sensitive column (then the Ranges scan finds nothing and
  // the verdict is the same). The walk gives up (`abandoned`) at the first
  // relation that may hold one, and any refusal is re-judged by a full walk, so
  // the catalog is only told it is stale by the walk whose verdict counts.
  bool speculative = false;
  bool abandoned = false;
  std::vector<std::string_view> cte_names;  // every CTE's name, for the speculative verdict
  // The exceptions list's verdict on the last function name judged: the
  // overloads of one name are judged one after another.
  std::string_view judged_name;
  const char* judged_denied = nullptr;
  bool judged_any = false;

  void reject(std::string rule, std::string message, long location) {
    if (verdict) return;
    if (rule == "schema_not_readable") {
      // What may be read instead, so the next attempt can succeed.
      message += "; readable schemas: ";
      for (std::size_t i = 0; i < policy.readable_schemas.size(); ++i)
        message += (i ? ", " : "") + policy.readable_schemas[i];
    }
    verdict = denied(std::move(rule), std::move(message), char_position(sql, location));
  }

  // Judges one key of an object; false when its value is not to be walked.
  // Out of line, so the checks' locals are not on the stack at every level of
  // the walk's recursion.
  [[gnu::noinline]] bool judge(Key kind, unsigned char word, std::string_view key, dom::element value,
                               const Where& here) {
    // The location of this key's node, or the nearest enclosing one.
    const auto at = [&] {
      int64_t v;
      return value.type() == dom::element_type::OBJECT && value["location"].get(v) == simdjson::SUCCESS
                 ? static_cast<long>(v)
                 : here.get();
    };
    switch (kind) {
      case Key::Statement:
        reject("statement_kind",
               std::string(kStatementWords[word].second) + " is not allowed: only a read (SELECT) can run", at());
        return false;
      case Key::IntoClause:
        reject("select_into", "SELECT ... INTO creates a table and is not allowed", here.get());
        return false;
      case Key::LockingClause:
        reject("locking_clause", "FOR UPDATE/SHARE row locks are not allowed in a read-only query", here.get());
        return false;
      case Key::ParamRef:
        // No call binds parameters, so PostgreSQL would refuse the Bind itself.
        reject("not_supported",
               "parameters ($1, $2, …) are not supported: each call runs without "
               "parameters, so write the values into the SQL",
               at());
        return false;
      case Key::Unsupported:
        reject("not_supported", std::string(key) + " is not supported in a read here", at());
        return false;
      case Key::AConst: return false;  // a constant's value does not change the shape
      case Key::Cte: check_cte(value, at()); break;
      case Key::FuncCall: check_call(value, at()); break;
      case Key::RangeVar: check_relation(value, at()); break;
      case Key::ColumnRef: check_column_ref(value, at()); break;
      case Key::Indirection: check_indirection(value, at()); break;
      case Key::AExpr: check_expression_operator(value, at()); break;
      case Key::TypeCast: check_cast(field(value, "typeName"), at()); break;
      case Key::AliasedItem:
        if (key == "JoinExpr") check_natural_join(value, at());
        check_alias(value, at());
        break;
      case Key::OperName: check_operator(names_of(value), here.get()); break;
      case Key::TargetList: note_expansions(value); break;
      // Join columns (USING) and alias column lists name columns without a
      // ColumnRef; a sensitive name there would be an oracle too.
      case Key::ColumnNames: check_column_names(value, here); break;
      case Key::Position:
      case Key::Plain: break;
    }
    return true;
  }

  // Visits every node once; `where` is the nearest enclosing location seen.
  void walk(dom::element node, const Where& where) {
    if (verdict) return;
    switch (node.type()) {
      case dom::element_type::ARRAY: {
        fingerprint.add("[");
        // Iterated in place: a copy of the array (or object) out of its
        // simdjson_result stalls on store forwarding at every node.
        const auto array = node.get_array();
        for (dom::element child : array.value_unsafe()) {
          walk(child, where);
          if (verdict) return;
        }
        fingerprint.add("]");
        return;
      }
      case dom::element_type::OBJECT: break;
      case dom::element_type::STRING: fingerprint.add(node.get_string().value_unsafe()); return;
      default: {
        int64_t number;
        if (node.get(number) == simdjson::SUCCESS)
          fingerprint.add(std::string_view(reinterpret_cast<const char*>(&number), sizeof number));
        else
          fingerprint.add(node.is_null() ? "n" : "b");
        return;
      }
    }
    const auto object = node.get_object();
    const Where here{&where, &node};  // a pointer: copying the element stalls on store forwarding
    for (dom::key_value_pair kv : object.value_unsafe()) {
      const std::string_view key = kv.key;
      unsigned char word = 0;
      const Key kind = kKeys.classify(key, word);
      if (kind == Key::Position) continue;
      fingerprint.add(key);
      const bool descend = kind == Key::Plain || judge(kind, word, key, kv.value, here);
      if (verdict) return;
      if (!descend) continue;
      walk(kv.value, here);
      if (verdict) return;
    }
  }

  bool schema_readable(std::string_view schema) const {
    return !policy.enforce_schemas || is_system_schema(schema) || contains(policy.readable_schemas, schema);
  }

  // Overloads of `name` a call with `nargs` arguments (-1: any) can reach:
  // in `schema` when qualified, else in the search path.
  std::vector<const catalog::Function*> overloads(std::string_view schema, std::string_view name, int nargs) const {
    std::vector<const catalog::Function*> out;
    each_overload(schema, name, nargs, [&](const catalog::Function& f) { out.push_back(&f); });
    return out;
  }
  // The same, one after another without collecting them; returns how many.
  template <class Visit>
  int each_overload(std::string_view schema, std::string_view name, int nargs, Visit&& visit) const {
    auto it = catalog.functions.find(lower(name));
    if (it == catalog.functions.end()) return 0;
    int n = 0;
    for (const auto& f : it->second) {
      if (nargs >= 0 && !f.accepts(nargs)) continue;
      if (schema.empty() ? !contains(catalog.search_path, f.schema) : f.schema != schema) continue;
      ++n;
      visit(f);
    }
    return n;
  }

  // The catalog's rule for one function a statement may call.
  // How a function is reached, for the message: built only when one is refused.
  struct How {
    std::string_view before, name, after;
    std::string text() const { return std::string(before) + std::string(name) + std::string(after); }
  };

  void judge(const catalog::Function& f, long at, const How& how = {}) {
    if (!judged_any || judged_name != f.name) {
      judged_name = f.name;
      judged_denied = denied_function_reason(f.name);
      judged_any = true;
    }
    if (const char* why = judged_denied) {
      reject("denied_function", "function " + f.signature() + " is not allowed: " + why, at);
    } else if (!f.from_extension && !schema_readable(f.schema)) {
      reject("schema_not_readable",
             "function " + f.signature() + " is in schema " + f.schema + ", which is not readable here", at);
    } else if (f.volatility == catalog::Volatility::Volatile && !allowed_volatile_reason(f.name)) {
      reject("volatile_function",
             "function " + f.signature() + how.text() + " is volatile (" + f.language +
                 "): it may change state or have effects beyond reading, and is not on the reviewed "
                 "list of volatile functions that only read",
             at);
    }
  }

  void check_call(dom::element call, long at) {
    const auto parts = names_of(field(call, "funcname"));
    if (parts.empty()) return;
    const std::string_view name = parts.back();
    const std::string_view schema = parts.size() >= 2 ? parts[parts.size() - 2] : std::string_view();
    dom::array args;
    int nargs = 0;
    if (field(call, "args").get(args) == simdjson::SUCCESS) nargs = static_cast<int>(args.size());
    // An ordered-set aggregate also takes its WITHIN GROUP (ORDER BY …) columns.
    dom::array within;
    bool within_group = false;
    if (field(call, "agg_within_group").get(within_group) == simdjson::SUCCESS && within_group &&
        field(call, "agg_order").get(within) == simdjson::SUCCESS)
      nargs += static_cast<int>(within.size());
    if (nargs == 1 && is_redacted_column(policy, name)) {
      reject("sensitive_column",
             "column " + std::string(name) + " is sensitive and may not be read (here in functional notation)", at);
      return;
    }
    if (const char* why = denied_function_reason(name)) {
      reject("denied_function", "function " + std::string(name) + "() is not allowed: " + why, at);
      return;
    }
    if (iequals(name, "current_setting") && (schema.empty() || schema == "pg_catalog")) {
      check_setting_argument(args, nargs, at);
      if (verdict) return;
    }
    // Judged in catalog order, up to the first refusal, as they are found.
    const int candidates = each_overload(schema, name, nargs, [&](const catalog::Function& f) {
      if (!verdict) judge(f, at);
    });
    if (candidates == 0) {
      const std::string shown = (schema.empty() ? "" : std::string(schema) + ".") + std::string(name);
      if (!schema.empty() && policy.enforce_schemas && !schema_readable(schema)) {
        reject("schema_not_readable",
               "schema " + std::string(schema) + " is not readable here (function " + shown + ")", at);
      } else if (catalog.live) {
        if (policy.catalog && !speculative) policy.catalog->stale();
        std::string arities;
        for (const auto* f : overloads(schema, name, -1)) arities += (arities.empty() ? "" : "; ") + f->signature();
        reject("unknown_function",
               "function " + shown + " with " + std::to_string(nargs) + " argument(s) does not exist" +
                   (arities.empty() ? "" : " (it exists as " + arities + ")"),
               at);
      } else {
        notes.push_back("function " + shown +
                        " is not in PostgreSQL 15's pg_catalog: the server judges it "
                        "by the live catalog");
      }
      return;
    }
  }

  // current_setting('name'): only an allow-listed setting, named by a constant.
  void check_setting_argument(dom::array args, int nargs, long at) {
    std::string_view setting;
    if (nargs >= 1) {
      Node arg = args.at(0);
      // 'name'::text is still a constant.
      if (!field(arg, "TypeCast").error()) arg = field(field(arg, "TypeCast"), "arg");
      setting = str(field(field(field(arg, "A_Const"), "sval"), "sval"));
    }
    if (setting.empty() || !readable_setting(setting))
      reject("secret_setting",
             "current_setting(" + (setting.empty() ? std::string("…") : "'" + std::string(setting) + "'") +
                 ") is not allowed: only settings on the reviewed list, named by a constant, can be read "
                 "(custom settings never)",
             at);
  }

  // A field-selection or qualified-column name that is not a known column may
  // be functional notation: `x.f` and `(x).f` call f(x).
  void check_field_call(std::string_view name, long at, std::string_view row) {
    if (name == "*" || ranges.known_column(name)) return;
    if (iequals(name, "current_setting")) {
      // Its argument is the row, never a constant the allow-list could check.
      reject("secret_setting",
             "current_setting called as ." + std::string(name) +
                 " is not allowed: only current_setting('name') of a setting on the reviewed "
                 "list can be read",
             at);
      return;
    }
    each_overload({}, name, 1, [&](const catalog::Function& f) {
      if (verdict) return;
      if (f.nargs != 1 && !(f.nargs > 1 && f.ndefaults >= f.nargs - 1)) return;
      if (!row.empty() && ranges.sensitive(row)) {
        reject("whole_row",
               "." + std::string(name) + " on " + std::string(row) + " calls " + f.signature() +
                   " on a whole row of a relation with "
                   "sensitive columns; name the columns you need",
               at);
        return;
      }
      judge(f, at, {" (called as .", name, ")"});
    });
  }

  void check_column_ref(dom::element ref, long at) {
    const auto fields = names_of(field(ref, "fields"));
    for (auto name : fields)
      if (name != "*" && is_redacted_column(policy, name)) {
        reject("sensitive_column", "column " + std::string(name) + " is sensitive and may not be read or filtered on",
               at);
        return;
      }
    if (fields.empty()) return;
    const std::string_view last = fields.back();
    const std::string_view row = fields.size() >= 2 ? fields[fields.size() - 2] : std::string_view();
    if (last == "*") {
      if (std::find(expansions.begin(), expansions.end(), at) != expansions.end()) return;
      if (row.empty() ? ranges.any : (ranges.sensitive(row) || (ranges.any && !ranges.names.count(std::string(row)))))
        reject("whole_row",
               std::string(row.empty() ? "*" : std::string(row) + ".*") +
                   " used as a value reads whole rows of a relation with sensitive columns; name "
                   "the columns you need",
               at);
      return;
    }
    if (fields.size() == 1) {
      if (ranges.sensitive(last))
        reject("whole_row",
               std::string(last) +
                   " used as a value is a whole row of a relation with sensitive "
                   "columns; name the columns you need",
               at);
      return;
    }
    check_field_call(last, at, row);
  }

  void check_indirection(dom::element indirection, long at) {
    for (auto name : names_of(field(indirection, "indirection"))) {
      if (name == "*") continue;
      if (is_redacted_column(policy, name)) {
        reject("sensitive_column", "column " + std::string(name) + " is sensitive and may not be read", at);
        return;
      }
      check_field_call(name, at, {});
      if (verdict) return;
    }
  }

  // Target-list entries that are `*` or `alias.*` expand into columns (which
  // the result redacts by name and source); anywhere else they are row values.
  void note_expansions(dom::element list) {
    dom::array targets;
    if (list.get(targets) != simdjson::SUCCESS) return;
    for (dom::element t : targets) {
      Node ref = field(field(field(t, "ResTarget"), "val"), "ColumnRef");
      const auto fields = names_of(field(ref, "fields"));
      if (!fields.empty() && fields.back() == "*") expansions.push_back(location_of(ref, -1));
    }
  }

  // Operators call functions: judge every overload of the symbol the search
  // path (or the qualification) reaches.
  void check_operator(const Names& parts, long at) {
    if (parts.empty()) return;
    const std::string_view symbol = parts.back();
    const std::string_view schema = parts.size() >= 2 ? parts[parts.size() - 2] : std::string_view();
    if (!schema.empty() && policy.enforce_schemas && !schema_readable(schema)) {
      reject("schema_not_readable",
             "schema " + std::string(schema) + " is not readable here (operator " + std::string(symbol) + ")", at);
      return;
    }
    auto it = catalog.operators.find(std::string(symbol));
    if (it == catalog.operators.end()) return;
    for (const auto& op : it->second) {
      if (schema.empty() ? !contains(catalog.search_path, op.schema) : op.schema != schema) continue;
      judge(op.function, at, {" (behind operator ", symbol, ")"});
      if (verdict) return;
    }
  }

  void check_expression_operator(dom::element expr, long at) {
    const std::string_view kind = str(field(expr, "kind"));
    if (kind.find("BETWEEN") != std::string_view::npos) {
      Names ge, le;
      ge.push_back(">=");
      le.push_back("<=");
      check_operator(ge, at);
      check_operator(le, at);
    } else {
      check_operator(names_of(field(expr, "name")), at);
    }
  }

  // A cast to a type that is not built in runs that type's cast or input function.
  void check_cast(Node type_name, long at) {
    const auto parts = names_of(field(type_name, "names"));
    if (parts.empty()) return;
    auto it = catalog.type_functions.find(lower(parts.back()));
    if (it == catalog.type_functions.end()) return;
    for (const auto& f : it->second) {
      judge(f, at, {" (behind a cast to ", parts.back(), ")"});
      if (verdict) return;
    }
  }

  void check_relation(dom::element range, long at) {
    const std::string_view name = str(field(range, "relname"));
    const std::string_view schema = str(field(range, "schemaname"));
    if (speculative && Ranges::holds_sensitive(catalog, schema, name)) {
      abandoned = true;
      verdict.emplace();  // stops the walk; the full walk decides
      return;
    }
    // Even where a CTE of the same name would shadow it: CTE names are scoped,
    // and this check is not.
    if (const char* why = refused_relation_reason(schema, name)) {
      reject("secret_catalog", std::string(name) + " is not readable: " + why, at);
      return;
    }
    check_alias(range, at);
    if (verdict) return;
    if (schema.empty()) {
      unqualified.emplace_back(name);
      return;
    }
    qualified.push_back(std::string(schema) + "." + std::string(name));
    if (policy.enforce_schemas && !schema_readable(schema))
      reject("schema_not_readable",
             "schema " + std::string(schema) + " is not readable here (relation " + std::string(schema) + "." +
                 std::string(name) + ")",
             at);
  }

  // An alias column list renames columns: on a relation with sensitive ones, a
  // rename would read them under another name.
  void check_alias(dom::element item, long at) {
    Node alias = field(item, "alias");
    dom::array colnames;
    if (field(alias, "colnames").get(colnames) != simdjson::SUCCESS || colnames.size() == 0) return;
    check_rename(str(field(alias, "aliasname")), at);
  }

  // A NATURAL JOIN joins on every column name the two sides share: a side
  // that names a column like a sensitive one (SELECT 'x' AS password_hash)
  // would filter on it, unseen. Refused wherever the statement reads a
  // relation with sensitive columns (the full walk's Ranges; a statement that
  // reads none never gets past the speculative walk to here).
  void check_natural_join(dom::element join, long at) {
    bool natural = false;
    if (field(join, "isNatural").get(natural) != simdjson::SUCCESS || !natural || !ranges.any) return;
    reject("sensitive_column",
           "NATURAL JOIN is not allowed in a statement that reads a relation with sensitive columns: it could "
           "join on one of them; name the join columns with USING (...) or ON",
           at);
  }

  void check_cte(dom::element cte, long at) {
    if (speculative) cte_names.push_back(str(field(cte, "ctename")));
    dom::array colnames;
    if (field(cte, "aliascolnames").get(colnames) == simdjson::SUCCESS && colnames.size() > 0)
      check_rename(str(field(cte, "ctename")), at);
  }

  // `name` comes with a column list: refused where it holds a sensitive column.
  void check_rename(std::string_view name, long at) {
    if (ranges.sensitive(name))
      reject("sensitive_rename",
             "the column list of " + std::string(name) +
                 " renames columns of a relation with sensitive columns; select the "
                 "columns you need by name instead",
             at);
  }

  // Join columns (USING) and alias column lists: a sensitive name there is an oracle.
  void check_column_names(dom::element fields, const Where& where) {
    for (auto name : names_of(fields))
      if (name != "*" && is_redacted_column(policy, name)) {
        reject("sensitive_column", "column " + std::string(name) + " is sensitive and may not be read or filtered on",
               where.get());
        return;
      }
  }
};

std::optional<Error> check_explain(Node explain, long location, std::string_view sql) {
  dom::object query;
  if (field(explain, "query").get(query) != simdjson::SUCCESS || query["SelectStmt"].error()) {
    std::string_view kind = "unknown";
    if (query.size() > 0) kind = (*query.begin()).key;
    const char* word = statement_word(kind);
    return denied("statement_kind",
                  "EXPLAIN of " + std::string(word ? word : kind) + " is not allowed: only a read (SELECT) can run",
                  char_position(sql, location));
  }
  return std::nullopt;
}

}  // namespace

bool is_redacted_column(const Policy& policy, std::string_view column) {
  for (const auto& c : policy.redact_columns)
    if (c.size() == column.size() && iequals(c, column)) return true;
  return false;
}

bool is_redacted_column(const Policy& policy, const catalog::Catalog& catalog, std::string_view column,
                        unsigned table_oid, int table_column) {
  return is_redacted_column(policy, column) || catalog.sensitive_attribute(table_oid, table_column);
}

core::Result<ValidatedStatement> validate(std::string_view sql, const Policy& policy) {
  // libpg_query needs a NUL-terminated string; an embedded NUL would hide text.
  if (sql.find('\0') != std::string_view::npos) return denied("parse_error", "the SQL contains a NUL byte", 0);
  if (sql.size() > kMaxSqlBytes)
    return denied("too_large",
                  "the statement is " + std::to_string(sql.size()) + " bytes; statements up to " +
                      std::to_string(kMaxSqlBytes) +
                      " bytes are judged: shorten it (aggregate in SQL, "
                      "or put long value lists in a smaller range or a join)",
                  0);
  std::size_t openings = 0;
  for (auto at = sql.find("/*"); at != std::string_view::npos; at = sql.find("/*", at + 2))
    if (++openings > kMaxCommentOpenings)
      return denied("too_large",
                    "the statement opens more than " + std::to_string(kMaxCommentOpenings) + " comments; remove them",
                    char_position(sql, static_cast<long>(at)));
  const std::string input(sql);
  PgQueryParseResult parsed = pg_query_parse(input.c_str());
  std::unique_ptr<PgQueryParseResult, void (*)(PgQueryParseResult*)> guard(
      &parsed, [](PgQueryParseResult* r) { pg_query_free_parse_result(*r); });
  if (parsed.error) return denied("parse_error", parsed.error->message, parsed.error->cursorpos);

  // One reusable simdjson parser per thread: it keeps its buffers between calls.
  // Its depth bound is the walk's: each level is a recursive call, about 1 KB
  // of stack in a release build and 10 KB under AddressSanitizer.
  thread_local dom::parser json_parser = [] {
    dom::parser p;
    if (p.allocate(64 * 1024, kMaxTreeDepth) != simdjson::SUCCESS) throw std::bad_alloc();
    return p;
  }();
  dom::element tree;
  if (auto code = json_parser.parse(parsed.parse_tree, std::strlen(parsed.parse_tree)).get(tree);
      code != simdjson::SUCCESS)
    return denied("parse_error",
                  code == simdjson::DEPTH_ERROR
                      ? "the statement nests too deeply (its parse tree is more than 512 levels deep: about "
                        "70 nested subqueries or 250 nested operators); simplify it"
                      : "the SQL could not be read: invalid characters",
                  0);
  dom::array stmts;
  if (field(tree, "stmts").get(stmts) != simdjson::SUCCESS || stmts.size() == 0)
    return denied("empty", "the SQL contains no statement", 0);
  if (stmts.size() > 1) {
    // PostgreSQL starts the next statement right after the ';': point at its first word.
    long second = int_of(stmts.at(1), "stmt_location", 0);
    while (second < static_cast<long>(sql.size()) && std::isspace(static_cast<unsigned char>(sql[second]))) ++second;
    return denied("multiple_statements", "exactly one statement is allowed; found " + std::to_string(stmts.size()),
                  char_position(sql, second));
  }
  const Node raw = stmts.at(0);
  const Node stmt = field(raw, "stmt");
  const long location = int_of(raw, "stmt_location", 0);
  const long length = int_of(raw, "stmt_len", 0);

  ValidatedStatement out;
  Node to_walk = stmt;
  dom::object stmt_object;
  std::string_view kind = "unknown";
  if (stmt.get(stmt_object) == simdjson::SUCCESS && stmt_object.size() > 0) kind = (*stmt_object.begin()).key;
  if (kind == "ExplainStmt") {
    if (auto e = check_explain(field(stmt, kind), location, sql)) return *e;
    out.kind = StatementKind::Explain;
    to_walk = field(field(stmt, kind), "query");
  } else if (kind == "VariableShowStmt") {
    const std::string_view name = str(field(field(stmt, kind), "name"));
    if (!readable_setting(name))
      return denied("secret_setting",
                    "SHOW " + std::string(name) +
                        " is not allowed: only settings on the reviewed list can be read (the planner, time "
                        "zone, encodings, versions, search_path, timeouts; custom settings never)",
                    char_position(sql, location));
    out.kind = StatementKind::Show;
    to_walk = field(stmt, kind);  // just the setting's name: nothing inside to refuse
  } else if (kind != "SelectStmt") {
    const char* word = statement_word(kind);
    std::string what = word ? word : std::string(kind);
    if (auto pos = what.find("Stmt"); pos != std::string::npos) what.erase(pos);
    return denied("statement_kind", what + " is not allowed: only a read (SELECT) can run",
                  char_position(sql, location));
  }

  dom::element walk_root;
  if (to_walk.get(walk_root) != simdjson::SUCCESS) return denied("parse_error", "the SQL could not be read", 0);
  const auto catalog = policy.catalog ? policy.catalog->current() : catalog::builtin();
  if (policy.catalog && !catalog->live) {
    // The server never judges by less than the live catalog.
    policy.catalog->stale();
    if (auto why = policy.catalog->refusal()) return *why;
    return core::make_error(ErrorKind::Unavailable,
                            "the database's catalog is not loaded yet (the database may be unreachable); "
                            "retry in a moment");
  }
  const Where root{nullptr, nullptr, location};
  // Most statements read no relation with a sensitive column: walk once with
  // empty Ranges, and only when that bet fails (or the walk refuses) scan for
  // the Ranges and walk again, as the verdict would be without the bet.
  const Ranges no_ranges{*catalog, {}, {}, {}, false};
  Walker walker{sql, policy, *catalog, no_ranges, std::nullopt, {}, {}, {}, {}};
  walker.speculative = true;
  walker.fingerprint.add(kind);
  walker.walk(walk_root, root);
  std::optional<Ranges> ranges;
  std::optional<Walker> full;
  if (walker.verdict) {
    ranges.emplace(Ranges{*catalog, {}, {}, {}, false});
    ranges->run(walk_root);
    full.emplace(Walker{sql, policy, *catalog, *ranges, std::nullopt, {}, {}, {}, {}});
    full->fingerprint.add(kind);
    full->walk(walk_root, root);
    if (full->verdict) return *full->verdict;
  }
  Walker& judged = full ? *full : walker;
  out.notes = std::move(judged.notes);
  if (!catalog->live)
    out.notes.push_back(
        "offline, relations are unknown: whole-row values and column renames of relations "
        "with sensitive columns are only caught with DATABASE_URL set");
  const auto is_cte = [&](const std::string& name) {
    return ranges ? ranges->ctes.count(name) != 0 : contains(walker.cte_names, name);
  };
  for (const auto& name : judged.unqualified)
    if (!is_cte(name) && !contains(out.unqualified_relations, name)) out.unqualified_relations.push_back(name);
  for (const auto& name : judged.qualified)
    if (!contains(out.qualified_relations, name)) out.qualified_relations.push_back(name);

  out.text = length > 0 ? input.substr(location, length) : input.substr(location);
  // A trailing "-- comment" must not swallow what the server appends after it.
  out.text.push_back('\n');
  out.start_position = char_position(sql, location);
  out.fingerprint = judged.fingerprint.hex();
  return out;
}

std::string normalize(std::string_view sql) {
  const std::string input(sql);
  PgQueryNormalizeResult r = pg_query_normalize(input.c_str());
  std::string out = (!r.error && r.normalized_query) ? r.normalized_query : "";
  pg_query_free_normalize_result(r);
  return out;
}

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string caret_excerpt(std::string_view sql, int position) {
  if (position <= 0) return {};
  // The byte where the character at `position` (1-based) starts.
  std::size_t byte = 0;
  for (int chars = 0; byte < sql.size(); ++byte)
    if ((static_cast<unsigned char>(sql[byte]) & 0xC0) != 0x80 && ++chars == position) break;
  std::size_t start = sql.rfind('\n', byte == 0 ? 0 : byte - 1);
  start = (start == std::string_view::npos || start >= byte) ? 0 : start + 1;
  std::size_t end = sql.find('\n', byte);
  if (end == std::string_view::npos) end = sql.size();
  std::string line(sql.substr(start, end - start));
  std::size_t col = 0;
  for (std::size_t i = start; i < byte; ++i)
    if ((static_cast<unsigned char>(sql[i]) & 0xC0) != 0x80) ++col;
  return line + "\n" + std::string(col, ' ') + "^";
}

}  // namespace fleetmcp::sql
