// The record API's pure parts: request parsing, parameters, answer frames,
// the SELECT each request becomes, and the token in a query string.
#include "ws/protocol.hpp"

#include <gtest/gtest.h>

#include "ws/models.hpp"
#include "ws/session.hpp"

namespace fleetmcp::ws {
namespace {

Request parsed(const std::string& text) {
  Request r;
  auto st = parse_request(text, r);
  EXPECT_TRUE(st.ok()) << text << ": " << (st.ok() ? "" : st.error().message);
  return r;
}

TEST(WsProtocol, ReadsTheSeedsRequest) {
  Request r = parsed(R"({"id":"list-users-1","action":"list","model":"users",
                         "params":{"limit":50,"offset":0,"filters":{"is_super_admin":true}}})");
  EXPECT_EQ(*r.id, "list-users-1");
  EXPECT_EQ(r.action, Action::List);
  EXPECT_EQ(r.model, "users");
  auto s = read_selection(r);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->limit, 50);
  EXPECT_EQ(s->offset, 0);
  ASSERT_EQ(s->filters.size(), 1u);
  EXPECT_EQ(s->filters[0].column, "is_super_admin");
  EXPECT_EQ(*s->filters[0].value, "true");
}

TEST(WsProtocol, RefusalsNameTheProblemAndKeepTheId) {
  struct Case {
    const char* text;
    core::ErrorKind kind;
    const char* message;
    bool has_id;
  };
  const Case cases[] = {
      {R"({"id":1,"action":"create","model":"users"})", core::ErrorKind::Denied,
       "Write operations not allowed in read-only mode: create", true},
      {R"({"id":1,"action":"DELETE","model":"users"})", core::ErrorKind::Denied,
       "Write operations not allowed in read-only mode: DELETE", true},
      {R"({"id":1,"model":"users"})", core::ErrorKind::BadRequest, "Missing required field: action", true},
      {R"({"id":1,"action":"list"})", core::ErrorKind::BadRequest, "Missing required field: model", true},
      {R"({"id":1,"action":"list","model":["users"]})", core::ErrorKind::BadRequest,
       "Invalid field: model must be a string", true},
      {R"({"id":{"a":1},"action":"list","model":"users"})", core::ErrorKind::BadRequest,
       "Invalid field: id must be a string or a number", false},
      {R"({"id":"cut","action":"li)", core::ErrorKind::BadRequest, "Invalid request: the message is not valid JSON",
       true},
      {R"("just a string")", core::ErrorKind::BadRequest,
       R"(Invalid request: expected a JSON object {"id", "action", "model", "params"})", false},
  };
  for (const auto& c : cases) {
    Request r;
    auto st = parse_request(c.text, r);
    ASSERT_FALSE(st.ok()) << c.text;
    EXPECT_EQ(st.error().kind, c.kind) << c.text;
    EXPECT_EQ(st.error().message, c.message) << c.text;
    EXPECT_EQ(r.id.has_value(), c.has_id) << c.text;
  }
}

TEST(WsProtocol, PeekIdFindsTheTopLevelIdBeforeTheDamage) {
  EXPECT_EQ(*peek_id(R"({"id":"big-1","params":{"filters":{"x":"aaaaaaa)"), "big-1");
  EXPECT_EQ(*peek_id(R"({"action":"list","id":42,"params":)"), 42);
  EXPECT_FALSE(peek_id(R"({"params":{"id":"nested"},"x":)").has_value());
  EXPECT_FALSE(peek_id(R"([{"id":"in an array"}])").has_value());
  EXPECT_FALSE(peek_id(R"({"id":{"not":"an id"}})").has_value());
  EXPECT_FALSE(peek_id("garbage").has_value());
}

TEST(WsProtocol, SelectionParameters) {
  auto read = [](const std::string& action, const std::string& params) {
    return read_selection(parsed(R"({"action":")" + action + R"(","model":"m","params":)" + params + "}"));
  };
  EXPECT_EQ(read("list", "{}")->limit, kDefaultLimit);
  EXPECT_EQ(read("list", R"({"limit":1000})")->limit, kMaxLimit);
  EXPECT_EQ(read("list", R"({"limit":10.0})")->limit, 10);
  EXPECT_FALSE(read("list", R"({"limit":1.5})").ok());
  EXPECT_FALSE(read("list", R"({"limit":"10"})").ok());
  EXPECT_FALSE(read("list", R"({"limit":18446744073709551615})").ok());
  EXPECT_FALSE(read("list", R"({"order_by":"id"})").ok());  // list has no ordering; query has
  auto q = read("query", R"({"order_by":"opened_at","order":"desc","filters":{"a":null,"b":1.5,"c":"x"}})");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->order_by, "opened_at");
  EXPECT_TRUE(q->descending);
  EXPECT_FALSE(q->filters[0].value.has_value());
  EXPECT_EQ(*q->filters[1].value, "1.5");
  EXPECT_EQ(*q->filters[2].value, "x");
  EXPECT_FALSE(read("query", R"({"order":"sideways"})").ok());
  EXPECT_FALSE(read("list", R"({"filters":{"a":{"$gt":1}}})").ok());
  EXPECT_FALSE(read("list", R"({"filters":["a"]})").ok());
}

TEST(WsProtocol, RecordId) {
  auto id = [](const std::string& params) {
    return read_record_id(parsed(R"({"action":"get","model":"m","params":)" + params + "}"));
  };
  EXPECT_EQ(id(R"({"id":123})").value(), "123");
  EXPECT_EQ(id(R"({"id":"INC0001"})").value(), "INC0001");
  EXPECT_EQ(id("{}").error().message, "Missing required parameter: id");
  EXPECT_FALSE(id(R"({"id":true})").ok());
  EXPECT_FALSE(id(R"({"id":1,"extra":2})").ok());
}

TEST(WsProtocol, FramesInTheSeedsFieldOrder) {
  EXPECT_EQ(list_frame(json("a"), "[]", 0, 50, 0),
            R"({"id":"a","status":"ok","data":[],"count":0,"limit":50,"offset":0})");
  EXPECT_EQ(get_frame(json(7), R"({"id":1})"), R"({"id":7,"status":"ok","data":{"id":1}})");
  EXPECT_EQ(error_frame(std::nullopt, "Invalid authentication token"),
            R"({"status":"error","error":"Invalid authentication token"})");
  EXPECT_EQ(error_frame(json("q\"1"), "say \"no\""), R"({"id":"q\"1","status":"error","error":"say \"no\""})");
}

Relation users() {
  Relation r;
  r.schema = "tickets";
  r.name = "users";
  r.columns = {"id", "email", "Mixed \"Case\""};
  r.primary_key = {"id"};
  return r;
}

TEST(WsModels, SelectQuotesNamesAndBindsValues) {
  sql::Policy policy;
  policy.redact_columns = {"password_hash"};
  Selection s;
  s.filters = {{"email", "x' OR 1=1 --"}, {"Mixed \"Case\"", std::nullopt}};
  s.limit = 10;
  s.offset = 20;
  auto st = select_statement("users", users(), s, policy);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->sql, R"(SELECT "id", "email", "Mixed ""Case""" FROM "tickets"."users" WHERE "email" = $1 AND )"
                     R"("Mixed ""Case""" IS NULL ORDER BY "id" LIMIT $2 OFFSET $3)");
  EXPECT_EQ(st->params, (std::vector<std::string>{"x' OR 1=1 --", "10", "20"}));

  s.filters.clear();
  s.order_by = "email";
  s.descending = true;
  EXPECT_EQ(
      select_statement("users", users(), s, policy)->sql,
      R"(SELECT "id", "email", "Mixed ""Case""" FROM "tickets"."users" ORDER BY "email" DESC, "id" LIMIT $1 OFFSET $2)");

  s.order_by = "nope";
  EXPECT_EQ(select_statement("users", users(), s, policy).error().message,
            "Unknown column 'nope' for model 'users'. Columns: id, email, Mixed \"Case\"");
  s.order_by.clear();
  s.filters = {{"PASSWORD_HASH", "x"}};
  auto sensitive = select_statement("users", users(), s, policy);
  EXPECT_EQ(sensitive.error().kind, core::ErrorKind::Denied);
}

TEST(WsModels, GetNeedsOneReadableKeyColumn) {
  auto st = get_statement("users", users(), "5");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->sql, R"(SELECT "id", "email", "Mixed ""Case""" FROM "tickets"."users" WHERE "id" = $1)");
  Relation view = users();
  view.primary_key.clear();
  EXPECT_EQ(get_statement("v", view, "1").error().message,
            "Model 'v' has no primary key: use list with filters instead of get");
  Relation composite = users();
  composite.primary_key = {"id", "email"};
  EXPECT_EQ(get_statement("c", composite, "1").error().message,
            "Model 'c' has a composite primary key (id, email): use list with filters instead of get");
}

TEST(WsModels, DescribeLooksInTheReadableSchemasInOrder) {
  auto bare = describe_statement({"users", "", "users"}, {"reporting", "tickets"});
  EXPECT_EQ(bare.params, (std::vector<std::string>{"users", "{reporting,tickets}"}));
  auto qualified = describe_statement({"tickets", "tickets", "inc"}, {"reporting", "tickets"});
  EXPECT_EQ(qualified.params, (std::vector<std::string>{"inc", "{tickets}"}));
}

TEST(WsSession, TokenFromTheQueryString) {
  EXPECT_EQ(*query_parameter("/mcp/ws?token=abc", "token"), "abc");
  EXPECT_EQ(*query_parameter("/mcp/ws?a=1&token=a%2Bb%3D&b=2", "token"), "a+b=");
  EXPECT_EQ(*query_parameter("/mcp/ws?token=", "token"), "");
  EXPECT_FALSE(query_parameter("/mcp/ws?tokens=abc", "token").has_value());
  EXPECT_FALSE(query_parameter("/mcp/ws", "token").has_value());
  EXPECT_FALSE(query_parameter("/mcp/ws?token=%zz", "token").has_value());
  EXPECT_FALSE(query_parameter("/mcp/ws?token=%2", "token").has_value());
}

}  // namespace
}  // namespace fleetmcp::ws
