// Runs the real voxgate binary as a process on free ports, as a deployment
// would.

#include <signal.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/grpc_probes.h"
#include "tests/subprocess.h"

namespace voxgate::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kBinary[] = "server/voxgate";

TEST(VoxgateProcessTest, ServesHealthThenExitsZeroOnSigterm) {
  auto process = Subprocess::Start(
      {kBinary, "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0"},
      {"VOXGATE_DRAIN_TIMEOUT=5s"});
  ASSERT_TRUE(process.ok()) << process.status();
  auto serving = process->WaitForLine("\"serving\"", absl::Seconds(30));
  ASSERT_TRUE(serving.ok()) << serving.status();
  const int port = nlohmann::json::parse(*serving).at("grpc_port").get<int>();
  ASSERT_GT(port, 0);

  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  auto health = CheckHealth(*channel, "");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, "SERVING");
  // An idle client answers the server's graceful-GOAWAY ping only when its
  // backup poller runs (every 5 s), which would stretch the drain; this client
  // leaves.
  channel.reset();

  process->Signal(SIGTERM);
  auto exit_code = process->Wait(absl::Seconds(20));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0) << process->Stderr();
  EXPECT_THAT(process->Stderr(), HasSubstr("\"drained\""));
}

TEST(VoxgateProcessTest, InvalidConfigExitsBeforeListeningNamingTheKey) {
  auto process = Subprocess::Start({kBinary, "--listen=127.0.0.1:0"},
                                   {"VOXGATE_ROUTING_MODE=round_robin"});
  ASSERT_TRUE(process.ok()) << process.status();
  auto exit_code = process->Wait(absl::Seconds(20));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 2);
  const std::string stderr_text = process->Stderr();
  EXPECT_THAT(stderr_text,
              HasSubstr("--routing_mode: expected one of single, audio_text"));
  EXPECT_THAT(stderr_text, ::testing::Not(HasSubstr("serving")));
}

TEST(VoxgateProcessTest, HelpListsFlagsAndExitsZero) {
  auto process = Subprocess::Start({kBinary, "--help"});
  ASSERT_TRUE(process.ok()) << process.status();
  auto exit_code = process->Wait(absl::Seconds(20));
  ASSERT_TRUE(exit_code.ok());
  EXPECT_EQ(*exit_code, 0);
}

}  // namespace
}  // namespace voxgate::testing
