#include "http/browser_guard.h"

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate::http {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

TEST(BrowserGuardTest, AKeylessGatewayAnswersOnlyHostsRebindingCannotForge) {
  const std::vector<std::string> defaults;
  for (const char* host :
       {"127.0.0.1:8080", "localhost:8080", "LOCALHOST.", "[::1]:8080", "::1",
        "10.0.0.7", "voxgate:8080", "voxgate.team.svc.cluster.local:8080",
        "box.local", "api.internal"}) {
    EXPECT_THAT(CheckHost(host, defaults), IsOk()) << host;
  }
  for (const char* host : {"evil.example:8080", "localhost.evil.example",
                           "127.0.0.1.nip.io", ""}) {
    EXPECT_THAT(CheckHost(host, defaults),
                StatusIs(absl::StatusCode::kPermissionDenied,
                         HasSubstr("http.allowed_hosts")))
        << host;
  }
  EXPECT_THAT(CheckHost("gw.example.com", {"gw.example.com"}), IsOk());
  EXPECT_THAT(CheckHost("a.corp.example", {".corp.example"}), IsOk());
  EXPECT_THAT(CheckHost("anything.example", {"*"}), IsOk());
  // A list of its own replaces the default names.
  EXPECT_THAT(CheckHost("box.local", {"gw.example.com"}),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("box")));
}

TEST(BrowserGuardTest, OnlyApplicationJsonIsJson) {
  EXPECT_TRUE(IsJsonContentType("application/json"));
  EXPECT_TRUE(IsJsonContentType("Application/JSON; charset=utf-8"));
  EXPECT_FALSE(IsJsonContentType("text/plain"));
  EXPECT_FALSE(IsJsonContentType("application/x-www-form-urlencoded"));
  EXPECT_FALSE(IsJsonContentType(""));
}

}  // namespace
}  // namespace voxgate::http
