// The test harness's child process: what tests and benches rely on when they
// run the real gateway.
#include "tests/subprocess.h"

#include <csignal>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

TEST(SubprocessTest, WaitForLineFindsALineAndKeepsTheOutput) {
  auto child = Subprocess::Start(
      {"/bin/sh", "-c", "echo starting >&2; echo 'port 1234' >&2"});
  ASSERT_TRUE(child.ok()) << child.status();
  auto line = child->WaitForLine("port", absl::Seconds(10));
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, "port 1234");
  ASSERT_TRUE(child->Wait(absl::Seconds(10)).ok());
  EXPECT_EQ(child->Stderr(), "starting\nport 1234\n");
}

TEST(SubprocessTest, DiscardStderrDrainsALongOutputWithoutKeepingIt) {
  // 64 MiB through a 64 KiB pipe: the child finishes only if it is drained.
  auto child = Subprocess::Start(
      {"/bin/sh", "-c", "head -c 67108864 /dev/zero >&2; echo done >&2"});
  ASSERT_TRUE(child.ok()) << child.status();
  int rounds = 0;
  while (child->DiscardStderr(absl::Milliseconds(200)) && rounds < 100000) {
    ++rounds;
  }
  EXPECT_LT(rounds, 100000) << "stderr never closed";
  auto exit_code = child->Wait(absl::Seconds(10));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0);
  EXPECT_THAT(child->Stderr(), SizeIs(0));
}

TEST(SubprocessTest, ATimeoutQuotesOnlyTheEndOfALongOutput) {
  auto child = Subprocess::Start(
      {"/bin/sh", "-c",
       "head -c 1048576 /dev/zero | tr '\\0' x >&2; echo last >&2; "
       "sleep 5"});
  ASSERT_TRUE(child.ok()) << child.status();
  auto line = child->WaitForLine("\x01never\x01", absl::Seconds(1));
  ASSERT_FALSE(line.ok());
  EXPECT_THAT(line.status().message(), HasSubstr("last"));
  EXPECT_LT(line.status().message().size(), 20000u);
  child->Signal(SIGKILL);
}

}  // namespace
}  // namespace voxgate::testing
