// /metrics of the real voxgate process after a known workload against the
// fake upstream: the exposition passes `promtool check metrics`, and a real
// Prometheus server scraping it answers PromQL queries with the exact counts.

#include <signal.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <regex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/audio_fixtures.h"
#include "tests/fake_upstream/fake_upstream.h"
#include "tests/free_port.h"
#include "tests/gateway_process.h"
#include "tests/http_get.h"
#include "tests/subprocess.h"
#include "upstream/http_client.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kConfig[] = R"(
pools:
  - name: whisper
    protocol: openai_transcriptions
    endpoints: [{url: "AUDIO/v1", max_concurrency: 8}]
    models: [whisper-1]
    health_check: {path: ""}
  - name: llm
    protocol: openai_chat
    endpoints: [{url: "TEXT/v1", max_concurrency: 8}]
    models: [llama3]
    health_check: {path: ""}
routing:
  audio_pool: whisper
  text_pool: llm
)";

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    audio_ = *FakeUpstream::Start();
    text_ = *FakeUpstream::Start();
    const std::string yaml = absl::StrReplaceAll(
        kConfig, {{"AUDIO", absl::StrCat("http://127.0.0.1:", audio_->port())},
                  {"TEXT", absl::StrCat("http://127.0.0.1:", text_->port())}});
    auto gateway = GatewayProcess::Start(yaml);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = std::move(*gateway);
    http_ = *upstream::HttpClient::Create();
    RunKnownWorkload();
  }

  // 3 Chat calls (the first attempt of one answered 503, then retried), one
  // Chat the fake refuses with 400, one 4-second Transcribe, and one
  // StreamTranscribe of two utterances.
  void RunKnownWorkload() {
    auto stub = v1::VoxgateService::NewStub(gateway_->channel());
    FakeBehavior unavailable;
    unavailable.status = 503;
    text_->Script("/v1/chat/completions", unavailable, 1);
    for (int i = 0; i < 3; ++i) {
      grpc::ClientContext context;
      v1::ChatResponse response;
      ASSERT_TRUE(stub->Chat(&context, Hello(), &response).ok());
    }
    FakeBehavior refused;
    refused.status = 400;
    text_->Script("/v1/chat/completions", refused, 1);
    {
      grpc::ClientContext context;
      v1::ChatResponse response;
      EXPECT_EQ(stub->Chat(&context, Hello(), &response).error_code(),
                grpc::StatusCode::INVALID_ARGUMENT);
    }
    {
      grpc::ClientContext context;
      v1::TranscribeRequest request;
      request.mutable_audio()->set_content(ToneWav(440, 4.0, 16000, 1));
      v1::TranscribeResponse response;
      ASSERT_TRUE(stub->Transcribe(&context, request, &response).ok());
    }
    {
      const std::string pause = SilenceWav(1.0, 16000);
      const std::string pcm =
          ConcatWav({pause, SpeechWav("Please call Stella."), pause,
                     SpeechWav("We also need a snake."), pause})
              .substr(44);
      grpc::ClientContext context;
      auto stream = stub->StreamTranscribe(&context);
      v1::StreamTranscribeRequest config;
      config.mutable_config()->mutable_format()->set_encoding(
          v1::AUDIO_ENCODING_LINEAR16);
      config.mutable_config()->mutable_format()->set_sample_rate_hertz(16000);
      config.mutable_config()->mutable_format()->set_channel_count(1);
      ASSERT_TRUE(stream->Write(config));
      stream_messages_in_ = 1;
      for (std::size_t at = 0; at < pcm.size(); at += 6400) {
        v1::StreamTranscribeRequest audio;
        audio.set_audio(pcm.substr(at, 6400));
        ASSERT_TRUE(stream->Write(audio));
        ++stream_messages_in_;
      }
      stream->WritesDone();
      v1::StreamTranscribeResponse response;
      while (stream->Read(&response)) ++stream_messages_out_;
      ASSERT_TRUE(stream->Finish().ok());
    }
  }

  static v1::ChatRequest Hello() {
    v1::ChatRequest request;
    v1::ChatMessage* message = request.add_messages();
    message->set_role(v1::ROLE_USER);
    message->add_content()->set_text("hello");
    return request;
  }

  // Prometheus's answer to an instant query, parsed; {} when unreachable.
  nlohmann::json Query(int port, const std::string& promql) {
    std::string encoded;
    for (char c : promql) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
        encoded += c;
      } else {
        encoded += absl::StrCat(
            "%", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
      }
    }
    auto response =
        HttpGet(*http_, absl::StrCat("http://127.0.0.1:", port,
                                     "/api/v1/query?query=", encoded));
    if (!response.ok()) return nlohmann::json::object();
    return nlohmann::json::parse(response->body, nullptr, false);
  }

  std::string Metrics() {
    auto response = HttpGet(
        *http_,
        absl::StrCat("http://127.0.0.1:", gateway_->admin_port(), "/metrics"));
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->body : "";
  }

  std::unique_ptr<FakeUpstream> audio_;
  std::unique_ptr<FakeUpstream> text_;
  std::unique_ptr<GatewayProcess> gateway_;
  std::unique_ptr<upstream::HttpClient> http_;
  int stream_messages_in_ = 0;
  int stream_messages_out_ = 0;
};

TEST_F(MetricsTest, ExpositionPassesPromtool) {
  const std::string path = TempPath("metrics.txt");
  WriteBytes(path, Metrics());
  const std::string output = TempPath("promtool.txt");
  // promtool reads the exposition on stdin; any lint problem is printed and
  // makes it exit non-zero.
  const bool clean = RunCommand(
      absl::StrCat("promtool check metrics < ", path, " > ", output, " 2>&1"));
  EXPECT_TRUE(clean) << ReadBytes(output);
}

TEST_F(MetricsTest, PrometheusScrapesTheGatewayAndPromqlGivesExactCounts) {
  const int port = FreePort();
  const std::string config = TempPath("prometheus.yml");
  std::ofstream(config) << "global:\n  scrape_interval: 1s\n"
                        << "scrape_configs:\n  - job_name: voxgate\n"
                        << "    static_configs:\n      - targets: ['127.0.0.1:"
                        << gateway_->admin_port() << "']\n";
  auto prometheus = Subprocess::Start(
      {"/usr/bin/prometheus", "--config.file=" + config,
       "--storage.tsdb.path=" + TempPath("tsdb"),
       absl::StrCat("--web.listen-address=127.0.0.1:", port)});
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();
  ASSERT_TRUE(
      prometheus->WaitForLine("Server is ready", absl::Seconds(60)).ok())
      << prometheus->Stderr();
  // The query's first value; -1 when there is none or the query fails.
  auto query = [&](const std::string& promql) -> double {
    const nlohmann::json answer = Query(port, promql);
    if (answer.value("status", "") != "success") return -1;
    const auto& result = answer.at("data").at("result");
    if (result.empty()) return -1;
    return std::stod(result[0].at("value")[1].get<std::string>());
  };
  // Wait for the first scrape with the gateway up.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (query("up{job=\"voxgate\"}") != 1 && absl::Now() < deadline)
    absl::SleepFor(absl::Milliseconds(250));
  ASSERT_EQ(query("up{job=\"voxgate\"}"), 1) << prometheus->Stderr();

  EXPECT_EQ(query("sum(grpc_server_handled_total{grpc_method=\"Chat\","
                  "grpc_code=\"OK\"})"),
            3);
  EXPECT_EQ(query("sum(grpc_server_handled_total{grpc_method=\"Chat\","
                  "grpc_code=\"InvalidArgument\"})"),
            1);
  EXPECT_EQ(query("sum(grpc_server_started_total)"), 6);
  EXPECT_EQ(query("grpc_server_handling_seconds_count{grpc_method="
                  "\"Transcribe\"}"),
            1);
  // Upstream attempts by outcome: 3 answered chats + 1 transcription, one
  // 503 retried, one 400.
  EXPECT_EQ(query("sum(voxgate_upstream_requests_total{pool=\"llm\","
                  "outcome=\"success\"})"),
            3);
  EXPECT_EQ(query("voxgate_upstream_requests_total{pool=\"llm\","
                  "outcome=\"http_5xx\"}"),
            1);
  EXPECT_EQ(query("voxgate_upstream_requests_total{pool=\"llm\","
                  "outcome=\"http_4xx\"}"),
            1);
  EXPECT_EQ(query("voxgate_upstream_retries_total{pool=\"llm\"}"), 1);
  EXPECT_EQ(query("voxgate_upstream_request_seconds_count{pool=\"llm\"}"), 5);
  EXPECT_EQ(query("voxgate_upstream_ttfb_seconds_count{pool=\"llm\"}"), 5);
  EXPECT_EQ(query("voxgate_upstream_queue_wait_seconds_count{pool=\"llm\"}"),
            5);
  // The stream's two utterances went to the audio pool, as did the
  // Transcribe's one chunk.
  EXPECT_EQ(query("sum(voxgate_upstream_requests_total{pool=\"whisper\","
                  "outcome=\"success\"})"),
            3);
  EXPECT_EQ(query("voxgate_stream_utterances_total"), 2);
  EXPECT_EQ(query("voxgate_stream_interim_results_total"), 0);
  EXPECT_EQ(query("voxgate_transcribe_chunks_count"), 1);
  EXPECT_EQ(query("voxgate_transcribe_chunks_sum"), 1);
  EXPECT_EQ(query("voxgate_audio_seconds_total{grpc_method=\"Transcribe\"}"),
            4);
  EXPECT_EQ(query("voxgate_audio_preprocess_seconds_count{grpc_method="
                  "\"Transcribe\"}"),
            1);
  EXPECT_EQ(query("grpc_server_msg_received_total{grpc_method="
                  "\"StreamTranscribe\"}"),
            stream_messages_in_);
  EXPECT_EQ(query("grpc_server_msg_sent_total{grpc_method="
                  "\"StreamTranscribe\"}"),
            stream_messages_out_);
  EXPECT_EQ(query("voxgate_streams_active"), 0);
  EXPECT_EQ(query("voxgate_log_lines_dropped_total"), 0);
  EXPECT_EQ(query("voxgate_calls_in_flight"), 0);
  EXPECT_EQ(query("sum(voxgate_admission_rejections_total)"), 0);
  EXPECT_EQ(query("voxgate_upstream_endpoint_healthy{pool=\"llm\"}"), 1);
  EXPECT_EQ(query("voxgate_upstream_in_flight{pool=\"llm\"}"), 0);
  EXPECT_EQ(query("voxgate_gateway_overhead_seconds_count{grpc_method="
                  "\"Chat\"}"),
            4);

  // Every panel of the Grafana dashboard is valid PromQL over metrics the
  // gateway exports.
  const nlohmann::json dashboard = nlohmann::json::parse(
      ReadBytes("k8s/grafana/voxgate-dashboard.json"), nullptr, false);
  ASSERT_TRUE(dashboard.contains("panels"));
  const std::string exposition = Metrics();
  int exprs = 0;
  for (const auto& panel : dashboard.at("panels")) {
    for (const auto& target : panel.at("targets")) {
      const std::string expr =
          absl::StrReplaceAll(target.at("expr").get<std::string>(),
                              {{"$__rate_interval", "1m"}, {"$job", ".*"}});
      ++exprs;
      EXPECT_EQ(Query(port, expr).value("status", ""), "success") << expr;
      static const std::regex kName("(grpc_server|voxgate)_[a-z_]+");
      for (std::sregex_iterator it(expr.begin(), expr.end(), kName), end;
           it != end; ++it) {
        std::string name = it->str();
        for (const char* suffix : {"_bucket", "_count", "_sum"}) {
          if (absl::EndsWith(name, suffix))
            name.resize(name.size() - std::strlen(suffix));
        }
        EXPECT_THAT(exposition, HasSubstr("# TYPE " + name + " "))
            << panel.at("title");
      }
    }
  }
  EXPECT_GE(exprs, 10);

  prometheus->Signal(SIGTERM);
  (void)prometheus->Wait(absl::Seconds(20));
}

}  // namespace
}  // namespace voxgate::testing
