#include "errors/errors.hpp"

#include <gtest/gtest.h>

namespace fleetmcp::errors {
namespace {

using core::ErrorKind;

core::Error db_error(std::string sqlstate, std::string message, int position = 0) {
  core::Error e = core::make_error(ErrorKind::DbError, std::move(message));
  e.sqlstate = std::move(sqlstate);
  e.position = position;
  return e;
}

TEST(ToolErrorText, SaysWhatHappenedWhereAndWhatToDoNext) {
  const std::string sql = "SELECT imei, nme FROM tracksolid.devices";
  const std::string text = model_error_text(db_error("42703", "column \"nme\" does not exist", 14), sql);
  EXPECT_EQ(text.rfind("PostgreSQL error 42703: column \"nme\" does not exist\nat position 14:\n", 0), 0u) << text;
  EXPECT_NE(text.find("^"), std::string::npos) << text;  // the caret under the column
  EXPECT_NE(text.find("\nNext: Call describe_table"), std::string::npos) << text;
  // The record API gets the same text, without the model's last line.
  EXPECT_EQ(tool_error_text(db_error("42703", "x"), {}).find("Next:"), std::string::npos);
}

TEST(ToolErrorText, GuardRefusalsNameTheRule) {
  core::Error e = core::make_error(ErrorKind::Denied, "only SELECT is allowed");
  e.rule = "not_a_select";
  EXPECT_EQ(tool_error_text(e, {}), "Rejected by the SQL guard (rule not_a_select): only SELECT is allowed");
  EXPECT_EQ(record_error_text(e), "only SELECT is allowed");  // the seed's texts, as they are
}

TEST(ToolErrorText, ALastingLoginRefusalSaysRetryingWillNotHelp) {
  core::Error e = core::make_error(ErrorKind::Unavailable, "database unavailable: password authentication failed");
  e.lasting = true;
  const std::string text = model_error_text(e, {});
  EXPECT_NE(text.find("PostgreSQL refused the server's login (password authentication failed)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("retrying will not help"), std::string::npos) << text;
  e.lasting = false;
  EXPECT_NE(model_error_text(e, {}).find("Retry the same call in a few seconds."), std::string::npos);
}

TEST(ToolErrorText, AnotherDialectGetsAHint) {
  const std::string text = model_error_text(db_error("42883", "function ifnull(text, text) does not exist"),
                                            "SELECT IFNULL(name, '-') FROM tracksolid.devices");
  EXPECT_NE(text.find("\nHint: "), std::string::npos) << text;
  EXPECT_NE(text.find("coalesce"), std::string::npos) << text;
}

TEST(RpcCode, NotFoundDependsOnTheRevision) {
  const core::Error missing = core::make_error(ErrorKind::NotFound, "no such resource");
  EXPECT_EQ(rpc_code(missing, false), kResourceNotFound);
  EXPECT_EQ(rpc_code(missing, true), kInvalidParams);
  EXPECT_EQ(rpc_code(core::make_error(ErrorKind::BadRequest, "x"), true), kInvalidParams);
  EXPECT_EQ(rpc_code(core::make_error(ErrorKind::Unavailable, "x"), false), kInternalError);
  const auto body = nlohmann::json::parse(rpc_error(7, kInvalidParams, "bad", {{"uri", "u"}}));
  EXPECT_EQ(body["id"], 7);
  EXPECT_EQ(body["error"]["code"], kInvalidParams);
  EXPECT_EQ(body["error"]["data"]["uri"], "u");
}

}  // namespace
}  // namespace fleetmcp::errors
