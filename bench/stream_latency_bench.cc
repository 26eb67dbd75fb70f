// stream_latency_bench: StreamTranscribe at real-time pace against the fake
// upstream, the voxgate process pinned to one core (the bench itself and the
// fake on the other).
//
//  1. Gateway-added latency at the end of each utterance, at --streams
//     concurrent streams:
//     - endpoint -> upstream: from the client sending the message whose audio
//       completes the utterance's trailing silence (the endpoint decision is
//       made on it; its offset is the END_OF_UTTERANCE event's
//       audio_processed) to the fake receiving the utterance's request;
//     - upstream -> client: from the fake finishing its answer to the client
//       reading the final result.
//  2. Gateway CPU per stream, hence the real-time streams one core sustains.
//  3. Memory per open stream beyond its audio: the gateway's RSS with
//     --idle_streams streams open (config and silence sent) minus before.
//
// Usage: bazel run -c opt //bench:stream_latency_bench -- [--streams=100]
//        [--repeat=2] [--idle_streams=200]

#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "tests/audio_fixtures.h"
#include "tests/fake_upstream/fake_upstream.h"
#include "tests/subprocess.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::bench {
namespace {

using Stream = grpc::ClientReaderWriter<v1::StreamTranscribeRequest,
                                        v1::StreamTranscribeResponse>;
constexpr int kPieceBytes = 3200;  // 100 ms of 16 kHz s16le

void PinThisProcessTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof(set), &set);
}

// Field `index` (1-based, as in proc(5)) of /proc/<pid>/stat.
long long ProcStat(int pid, int index) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(file)), {});
  // The command name may hold spaces; fields are counted after its ')'.
  const std::size_t close = text.rfind(')');
  std::vector<std::string> fields =
      absl::StrSplit(text.substr(close + 2), ' ', absl::SkipEmpty());
  long long value = 0;
  (void)absl::SimpleAtoi(fields.at(index - 3), &value);
  return value;
}

double CpuSeconds(int pid) {
  return (ProcStat(pid, 14) + ProcStat(pid, 15)) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

double RssKib(int pid) {
  return ProcStat(pid, 24) * (sysconf(_SC_PAGESIZE) / 1024.0);
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t at = std::min(
      values.size() - 1, static_cast<std::size_t>(p * (values.size() - 1)));
  return values[at];
}

v1::StreamTranscribeRequest Config(bool events) {
  v1::StreamTranscribeRequest request;
  v1::StreamTranscribeConfig* config = request.mutable_config();
  config->mutable_format()->set_encoding(v1::AUDIO_ENCODING_LINEAR16);
  config->mutable_format()->set_sample_rate_hertz(16000);
  config->mutable_format()->set_channel_count(1);
  config->set_enable_speech_events(events);
  return request;
}

// What one stream saw, in its own clock readings.
struct StreamLog {
  std::string request_id;
  // Audio sent so far (ms) -> when the message ending there was sent.
  std::map<int64_t, absl::Time> sent_at;
  std::vector<int64_t> endpoint_ms;  // END_OF_UTTERANCE audio_processed
  std::vector<absl::Time> final_at;
  bool ok = false;
};

void RunStream(v1::VoxgateService::Stub& stub, const std::string& pcm,
               int repeat, absl::Time start, StreamLog& log) {
  grpc::ClientContext context;
  context.AddMetadata("x-request-id", log.request_id);
  std::unique_ptr<Stream> stream = stub.StreamTranscribe(&context);
  absl::Mutex mu;
  std::thread reader([&] {
    v1::StreamTranscribeResponse response;
    while (stream->Read(&response)) {
      const absl::Time now = absl::Now();
      absl::MutexLock lock(&mu);
      if (response.event().type() == v1::SpeechEvent::TYPE_END_OF_UTTERANCE) {
        const auto& processed = response.audio_processed();
        log.endpoint_ms.push_back(processed.seconds() * 1000 +
                                  processed.nanos() / 1000000);
      }
      if (response.result().is_final()) log.final_at.push_back(now);
    }
  });
  absl::SleepFor(start - absl::Now());
  stream->Write(Config(/*events=*/true));
  int64_t sent_ms = 0;
  const absl::Time paced_from = absl::Now();
  for (int round = 0; round < repeat; ++round) {
    for (std::size_t at = 0; at < pcm.size(); at += kPieceBytes) {
      v1::StreamTranscribeRequest audio;
      audio.set_audio(pcm.substr(at, kPieceBytes));
      const int64_t piece_ms = audio.audio().size() / 32;
      // Real time: a piece is sent when its audio would have been recorded.
      absl::SleepFor(paced_from + absl::Milliseconds(sent_ms + piece_ms) -
                     absl::Now());
      sent_ms += piece_ms;
      {
        absl::MutexLock lock(&mu);
        log.sent_at[sent_ms] = absl::Now();
      }
      if (!stream->Write(audio)) break;
    }
  }
  stream->WritesDone();
  reader.join();
  log.ok = stream->Finish().ok();
}

int Main(int argc, char** argv) {
  int streams = 100;
  int repeat = 2;
  int idle_streams = 200;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--streams=")) {
      (void)absl::SimpleAtoi(arg, &streams);
    } else if (absl::ConsumePrefix(&arg, "--repeat=")) {
      (void)absl::SimpleAtoi(arg, &repeat);
    } else if (absl::ConsumePrefix(&arg, "--idle_streams=")) {
      (void)absl::SimpleAtoi(arg, &idle_streams);
    }
  }
  // Three utterances with 1.2 s pauses, about 12 s.
  const std::string pause = testing::SilenceWav(1.2, 16000);
  const std::string pcm =
      testing::ConcatWav({testing::SilenceWav(0.5, 16000),
                          testing::SpeechWav("Please call Stella."), pause,
                          testing::SpeechWav("Ask her to bring these things."),
                          pause, testing::SpeechWav("We also need a snake."),
                          pause})
          .substr(44);
  const std::string silence = testing::SilenceWav(1.0, 16000).substr(44);

  auto fake = testing::FakeUpstream::Start();
  if (!fake.ok()) return 1;
  testing::FakeBehavior answer;
  answer.latency = absl::Milliseconds(100);  // a model server's time
  (*fake)->SetDefault(answer);
  const std::string config = "/tmp/voxgate-stream-bench.yaml";
  std::ofstream(config) << "pools:\n  - name: whisper\n"
                        << "    protocol: openai_transcriptions\n"
                        << "    endpoints: [{url: \"" << (*fake)->base_url()
                        << "\", max_concurrency: 4096}]\n"
                        << "    health_check: {path: \"\"}\n"
                        << "limits:\n  max_streams: 4096\n"
                        << "  max_concurrent_calls: 4096\n";
  // The gateway on CPU 1; this process (clients and fake) on CPU 0.
  auto gateway = testing::Subprocess::Start(
      {"/usr/bin/taskset", "-c", "1", "gateway/voxgate", "--config=" + config,
       "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
       "--http_listen=127.0.0.1:0"});
  if (!gateway.ok()) return 1;
  PinThisProcessTo(0);
  auto serving = gateway->WaitForLine("\"serving\"", absl::Seconds(30));
  if (!serving.ok()) {
    std::fprintf(stderr, "%s\n", serving.status().ToString().c_str());
    return 1;
  }
  const int port = nlohmann::json::parse(*serving).at("grpc_port").get<int>();
  const int pid = gateway->pid();  // taskset execs voxgate in place
  // Its log (a line per call, as deployed) must not fill the pipe.
  std::atomic<bool> stop_draining{false};
  std::thread drainer([&] {
    while (!stop_draining.load() &&
           gateway->DiscardStderr(absl::Milliseconds(200))) {
    }
  });
  auto stub = v1::VoxgateService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));

  // Warm-up: one stream end to end, so allocator arenas and connections
  // exist before anything is measured.
  {
    StreamLog warm;
    warm.request_id = "warm-up";
    RunStream(*stub, pcm, 1, absl::Now(), warm);
  }

  // 3. Memory per open stream.
  const double rss_before = RssKib(pid);
  std::vector<std::unique_ptr<grpc::ClientContext>> idle_contexts;
  std::vector<std::unique_ptr<Stream>> idle;
  for (int i = 0; i < idle_streams; ++i) {
    idle_contexts.push_back(std::make_unique<grpc::ClientContext>());
    idle.push_back(stub->StreamTranscribe(idle_contexts.back().get()));
    idle.back()->Write(Config(/*events=*/false));
    v1::StreamTranscribeRequest audio;
    for (std::size_t at = 0; at < silence.size(); at += kPieceBytes) {
      audio.set_audio(silence.substr(at, kPieceBytes));
      idle.back()->Write(audio);
    }
  }
  absl::SleepFor(absl::Seconds(2));
  const double rss_open = RssKib(pid);
  for (auto& stream : idle) {
    stream->WritesDone();
    v1::StreamTranscribeResponse response;
    while (stream->Read(&response)) {
    }
    (void)stream->Finish();
  }
  idle.clear();
  idle_contexts.clear();

  // 1 and 2. Latency and CPU at `streams` real-time streams.
  (*fake)->ClearRequests();
  std::vector<StreamLog> logs(streams);
  std::vector<std::thread> clients;
  std::mt19937 random(7);
  const absl::Time begin = absl::Now() + absl::Milliseconds(500);
  const double cpu_before = CpuSeconds(pid);
  for (int i = 0; i < streams; ++i) {
    logs[i].request_id = absl::StrCat("bench-", i);
    // Starts spread over a second, as independent callers would be.
    const absl::Time start =
        begin +
        absl::Milliseconds(std::uniform_int_distribution<>(0, 999)(random));
    clients.emplace_back(
        [&, i, start] { RunStream(*stub, pcm, repeat, start, logs[i]); });
  }
  for (std::thread& client : clients) client.join();
  const double wall = absl::ToDoubleSeconds(absl::Now() - begin);
  const double cpu = CpuSeconds(pid) - cpu_before;

  std::map<std::string, std::vector<testing::FakeRequest>> by_stream;
  for (testing::FakeRequest& request :
       (*fake)->Requests("/v1/audio/transcriptions")) {
    by_stream[std::string(request.wire.Header("x-request-id"))].push_back(
        std::move(request));
  }
  std::vector<double> to_upstream_ms, to_client_ms;
  int failed = 0, mismatched = 0;
  for (const StreamLog& log : logs) {
    std::vector<testing::FakeRequest>& requests = by_stream[log.request_id];
    std::sort(
        requests.begin(), requests.end(),
        [](const auto& a, const auto& b) { return a.received < b.received; });
    if (!log.ok) ++failed;
    if (requests.size() != log.endpoint_ms.size() ||
        requests.size() != log.final_at.size()) {
      ++mismatched;
      continue;
    }
    for (std::size_t k = 0; k < requests.size(); ++k) {
      auto sent = log.sent_at.find(log.endpoint_ms[k]);
      if (sent == log.sent_at.end()) {
        ++mismatched;
        continue;
      }
      to_upstream_ms.push_back(
          absl::ToDoubleMilliseconds(requests[k].received - sent->second));
      to_client_ms.push_back(
          absl::ToDoubleMilliseconds(log.final_at[k] - requests[k].finished));
    }
  }
  stop_draining.store(true);
  drainer.join();
  gateway->Signal(SIGTERM);
  (void)gateway->Wait(absl::Seconds(30));

  const double cpu_per_stream = cpu / wall / streams;
  std::printf(
      "| streams | utterances | endpoint->upstream p50 ms | p99 ms | "
      "upstream->client p50 ms | p99 ms | gateway CPU (1 core) | "
      "CPU per stream | real-time streams per core | failed streams |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n");
  std::printf(
      "| %d | %zu | %.2f | %.2f | %.2f | %.2f | %.0f%% | %.3f%% | %.0f "
      "| %d (%d mismatched) |\n",
      streams, to_upstream_ms.size(), Percentile(to_upstream_ms, 0.5),
      Percentile(to_upstream_ms, 0.99), Percentile(to_client_ms, 0.5),
      Percentile(to_client_ms, 0.99), 100 * cpu / wall, 100 * cpu_per_stream,
      1 / cpu_per_stream, failed, mismatched);
  std::printf(
      "\n| open streams | gateway RSS before KiB | with them open KiB | per "
      "stream KiB |\n|---|---|---|---|\n| %d | %.0f | %.0f | %.1f |\n",
      idle_streams, rss_before, rss_open,
      (rss_open - rss_before) / idle_streams);
  return failed == 0 && mismatched == 0 ? 0 : 1;
}

}  // namespace
}  // namespace voxgate::bench

int main(int argc, char** argv) { return voxgate::bench::Main(argc, argv); }
