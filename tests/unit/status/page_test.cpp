#include <gtest/gtest.h>

#include "status/page.hpp"

using namespace fleetmcp;

TEST(StatusPage, AnalystsSqlIsEscapedNeverMarkup) {
  status::View v;
  v.version = "1.0";
  metrics::Activity::RunningView r;
  r.analyst = "eve<script>alert(1)</script>";
  r.sql = "SELECT '\"><img src=x onerror=alert(1)>' & 1";
  r.fingerprint = "f1";
  v.running.push_back(r);
  v.role.done = true;
  v.role.role = "analytics_ro";
  const std::string html = status::render(v);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("eve&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("&#39;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&#39; &amp; 1"), std::string::npos);
}

TEST(StatusPage, RefreshesItselfFitsAPhoneAndLoadsNothing) {
  status::View v;
  v.refresh_seconds = 7;
  const std::string html = status::render(v);
  EXPECT_NE(html.find("<meta http-equiv=refresh content=\"7\">"), std::string::npos);
  EXPECT_NE(html.find("name=viewport"), std::string::npos);
  for (const char* external : {"src=", "href=", "@import", "url("})
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  EXPECT_NE(html.find("Nothing is running."), std::string::npos);
  EXPECT_NE(html.find("Not run yet"), std::string::npos);
}

TEST(StatusPage, ShowsAlertsForARefusedLoginAndAnUnsafeRole) {
  status::View v;
  v.gauges.login_refused = true;
  v.gauges.role_unsafe = true;
  const std::string html = status::render(v);
  EXPECT_NE(html.find("refuses the server's login"), std::string::npos);
  EXPECT_NE(html.find("MCP_ALLOW_UNSAFE_ROLE"), std::string::npos);
}

TEST(StatusPage, BidiControlsAreNamedNotObeyedAndBadBytesReplaced) {
  // U+202E (right-to-left override) would show "DELETE ... --" reversed.
  EXPECT_EQ(status::html_escape("DELETE -- \xE2\x80\xAE tnuoc TCELES"), "DELETE -- &lt;U+202E&gt; tnuoc TCELES");
  EXPECT_EQ(status::html_escape("a\xE2\x81\xA6"
                                "b\xE2\x80\x8F"
                                "c"),
            "a&lt;U+2066&gt;b&lt;U+200F&gt;c");
  EXPECT_EQ(status::html_escape("x\xC3y\x1B[31m\xC3\xA9"), "x\xEF\xBF\xBDy\xEF\xBF\xBD[31m\xC3\xA9");
  EXPECT_EQ(status::html_escape("line\nnext\ttab"), "line\nnext\ttab");
}
