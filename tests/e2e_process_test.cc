// Runs the real voxgate binary as a process on free ports, as a deployment
// would.

#include <signal.h>

#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/free_port.h"
#include "tests/grpc_probes.h"
#include "tests/http_get.h"
#include "tests/subprocess.h"
#include "upstream/http_client.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kBinary[] = "gateway/voxgate";

// The value of the first sample of `name` whose labels include every one of
// `labels` (`key="value"`), from Prometheus text; -1 when there is none.
double Sample(const std::string& text, const std::string& name,
              const std::vector<std::string>& labels) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + "{", 0) != 0) continue;
    bool all = true;
    for (const std::string& label : labels)
      all &= line.find(label) != std::string::npos;
    if (all) return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

TEST(VoxgateProcessTest, ServesHealthThenExitsZeroOnSigterm) {
  auto process = Subprocess::Start(
      {kBinary, "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
       "--http_listen=127.0.0.1:0"},
      {"VOXGATE_DRAIN_TIMEOUT=5s"});
  ASSERT_TRUE(process.ok()) << process.status();
  auto serving = process->WaitForLine("\"serving\"", absl::Seconds(30));
  ASSERT_TRUE(serving.ok()) << serving.status();
  const int port = nlohmann::json::parse(*serving).at("grpc_port").get<int>();
  ASSERT_GT(port, 0);

  const int admin_port =
      nlohmann::json::parse(*serving).at("admin_port").get<int>();
  ASSERT_GT(admin_port, 0);
  // The admin listener answers probes and serves metrics.
  auto http = upstream::HttpClient::Create();
  ASSERT_TRUE(http.ok());
  auto get = [&](const std::string& path) {
    return HttpGet(**http, absl::StrCat("http://127.0.0.1:", admin_port, path));
  };
  auto healthz = get("/healthz");
  ASSERT_TRUE(healthz.ok()) << healthz.status();
  EXPECT_EQ(healthz->status_code, 200);
  auto readyz = get("/readyz");
  ASSERT_TRUE(readyz.ok());
  EXPECT_EQ(readyz->status_code, 200);
  auto metrics = get("/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(metrics->status_code, 200);
  EXPECT_THAT(metrics->body, HasSubstr("voxgate_calls_in_flight 0"));
  EXPECT_THAT(
      metrics->body,
      HasSubstr("voxgate_upstream_pool_available{pool=\"embedded\"} 1"));
  EXPECT_THAT(metrics->body, HasSubstr("# TYPE voxgate_draining gauge"));

  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  auto health = CheckHealth(*channel, "");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, "SERVING");
  // A known workload, then exact counts in /metrics.
  auto stub = v1::VoxgateService::NewStub(channel);
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext context;
    v1::ListModelsResponse models;
    ASSERT_TRUE(stub->ListModels(&context, {}, &models).ok());
  }
  {
    grpc::ClientContext context;
    v1::ChatRequest request;
    v1::ChatMessage* message = request.add_messages();
    message->set_role(v1::ROLE_USER);
    message->add_content()->set_text("hi");
    v1::ChatResponse response;
    EXPECT_EQ(stub->Chat(&context, request, &response).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  auto after = get("/metrics");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(Sample(after->body, "grpc_server_started_total",
                   {"grpc_method=\"ListModels\""}),
            2);
  EXPECT_EQ(Sample(after->body, "grpc_server_handled_total",
                   {"grpc_method=\"ListModels\"", "grpc_code=\"OK\""}),
            2);
  EXPECT_EQ(
      Sample(after->body, "grpc_server_handled_total",
             {"grpc_method=\"Chat\"", "grpc_code=\"FailedPrecondition\""}),
      1);
  EXPECT_EQ(Sample(after->body, "grpc_server_handled_total",
                   {"grpc_method=\"Chat\"", "grpc_code=\"OK\""}),
            0);
  EXPECT_EQ(Sample(after->body, "grpc_server_handling_seconds_count",
                   {"grpc_method=\"Chat\""}),
            1);

  // An idle client answers the server's graceful-GOAWAY ping only when its
  // backup poller runs (every 5 s), which would stretch the drain; this client
  // leaves.
  stub.reset();
  channel.reset();

  process->Signal(SIGTERM);
  auto exit_code = process->Wait(absl::Seconds(20));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0) << process->Stderr();
  EXPECT_THAT(process->Stderr(), HasSubstr("\"drained\""));
}

// A pool whose server is down: the process stays ready (gRPC health for its
// service and /readyz agree), while the pool's own health entry and
// /readyz/pools say it is down.
TEST(VoxgateProcessTest, ReadinessIsTheProcessAndPoolsAreReportedApart) {
  const int dead_port = FreePort();  // nothing listens there
  auto process = Subprocess::Start(
      {kBinary, "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
       "--http_listen=127.0.0.1:0",
       absl::StrCat("--text_base_url=http://127.0.0.1:", dead_port, "/v1")},
      {});
  ASSERT_TRUE(process.ok()) << process.status();
  auto serving = process->WaitForLine("\"serving\"", absl::Seconds(30));
  ASSERT_TRUE(serving.ok()) << serving.status();
  const nlohmann::json facts = nlohmann::json::parse(*serving);
  auto channel = grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", facts.at("grpc_port").get<int>()),
      grpc::InsecureChannelCredentials());
  // The first health check fails (connection refused) and the pool's entry
  // follows within its 1 s reporting interval.
  absl::StatusOr<std::string> pool = CheckHealth(*channel, "voxgate.pool.text");
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while ((!pool.ok() || *pool != "NOT_SERVING") && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(100));
    pool = CheckHealth(*channel, "voxgate.pool.text");
  }
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_EQ(*pool, "NOT_SERVING");
  EXPECT_EQ(CheckHealth(*channel, "voxgate.pool.audio").value_or(""),
            "SERVING");  // the embedded engine
  EXPECT_EQ(CheckHealth(*channel, "voxgate.v1.VoxgateService").value_or(""),
            "SERVING");

  auto http = upstream::HttpClient::Create();
  ASSERT_TRUE(http.ok());
  const std::string admin =
      absl::StrCat("http://127.0.0.1:", facts.at("admin_port").get<int>());
  auto readyz = HttpGet(**http, admin + "/readyz");
  ASSERT_TRUE(readyz.ok());
  EXPECT_EQ(readyz->status_code, 200);
  EXPECT_THAT(readyz->body, HasSubstr("pool text: no available endpoint"));
  auto pools = HttpGet(**http, admin + "/readyz/pools");
  ASSERT_TRUE(pools.ok());
  EXPECT_EQ(pools->status_code, 503);
  EXPECT_THAT(pools->body, HasSubstr("pool audio: available"));
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
