#include "prompts/prompts.hpp"

#include <gtest/gtest.h>

namespace fleetmcp::prompts {
namespace {

const Prompt& named(const std::string& name) {
  for (const auto& p : fleet_prompts())
    if (p.name == name) return p;
  throw std::runtime_error("no prompt " + name);
}

TEST(Prompts, RenderPutsPlainDatesIntoTheText) {
  auto text = render(named("daily_fleet_summary"), {{"start_date", "2026-05-01"}});
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_NE(text->find("from 2026-05-01 to 2026-05-01"), std::string::npos) << *text;  // end defaults to start
}

TEST(Prompts, ArgumentsThatCouldSteerTheSqlAreRefused) {
  auto text = render(named("daily_fleet_summary"), {{"start_date", "2026-05-01' OR 1=1 --"}});
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().kind, core::ErrorKind::BadRequest);
  EXPECT_NE(text.error().message.find("YYYY-MM-DD"), std::string::npos) << text.error().message;
}

TEST(Prompts, RequiredAndUnknownArgumentsAreChecked) {
  EXPECT_FALSE(render(named("explore_table"), {{"schema", "tracksolid"}}));
  EXPECT_FALSE(render(named("explore_table"), {{"schema", "tracksolid"}, {"table", "devices"}, {"colour", "red"}}));
  auto text = render(named("explore_table"), {{"schema", "tracksolid"}, {"table", "odd\"name"}});
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_NE(text->find("fleetmcp://table/tracksolid/odd%22name"), std::string::npos) << *text;
}

}  // namespace
}  // namespace fleetmcp::prompts
