// soak_bench: the gateway under mixed load with random cancels for a long
// time, sampling its resident memory and open file descriptors, to show that
// calls cancelled at any point leave nothing behind.
//
// The voxgate binary runs as its own process (as deployed) with a config file
// pointing its pools at the fake upstream in this process, which answers
// after a short latency and streams in pieces, with a 503 or a reset now and
// then. Client threads run Chat, ChatStream, Transcribe and StreamTranscribe
// in turn; a share of the calls is cancelled at a random point. Every
// --sample_seconds the gateway's VmRSS and /proc/<pid>/fd count are printed
// and written to --csv; at the end the RSS after --warmup_minutes is compared
// with its first sample there.
//
// Usage: bazel run -c opt //bench:soak_bench -- --minutes=30
//        [--warmup_minutes=5] [--clients=8] [--cancel_percent=30]
//        [--sample_seconds=10] [--csv=/tmp/soak.csv]
// Then: bench/plot_soak.sh /tmp/soak.csv bench/soak.png

#include <dirent.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/timer_queue.h"
#include "grpcpp/grpcpp.h"
#include "tests/audio_fixtures.h"
#include "tests/call_mix.h"
#include "tests/fake_upstream/fake_upstream.h"
#include "tests/free_port.h"
#include "tests/subprocess.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::bench {
namespace {

constexpr char kConfig[] = R"(
server:
  listen: 127.0.0.1:PORT
  admin_listen: 127.0.0.1:0
  http_listen: 127.0.0.1:0
pools:
  - name: whisper
    protocol: openai_transcriptions
    endpoints: [{url: "FAKE", max_concurrency: 8}]
    health_check: {path: ""}
  - name: llm
    protocol: openai_chat
    endpoints: [{url: "FAKE", max_concurrency: 8}]
    health_check: {path: ""}
routing:
  audio_pool: whisper
  text_pool: llm
limits:
  max_concurrent_calls: 64
logging:
  level: warning
)";

std::string Flag(int argc, char** argv, const std::string& name,
                 const std::string& fallback) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg(argv[i]);
    if (absl::ConsumePrefix(&arg, prefix)) return std::string(arg);
  }
  return fallback;
}

// VmRSS in KiB and the number of open descriptors of process `pid`.
std::pair<int64_t, int> Sample(pid_t pid) {
  int64_t rss = -1;
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  for (std::string line; std::getline(status, line);) {
    absl::string_view rest(line);
    if (absl::ConsumePrefix(&rest, "VmRSS:")) {
      rest = absl::StripAsciiWhitespace(rest);
      absl::ConsumeSuffix(&rest, " kB");
      absl::SimpleAtoi(rest, &rss);
    }
  }
  int fds = 0;
  if (DIR* dir = opendir(absl::StrCat("/proc/", pid, "/fd").c_str())) {
    while (dirent* entry = readdir(dir)) fds += entry->d_name[0] != '.';
    closedir(dir);
  }
  return {rss, fds};
}

struct Counts {
  std::atomic<int64_t> calls{0};
  std::atomic<int64_t> cancelled{0};
  std::map<int, std::atomic<int64_t>> by_code;
};

void RunMixedCall(v1::VoxgateService::Stub& stub, int kind,
                  std::mt19937& random, int cancel_percent, TimerQueue& cancels,
                  const std::string& wav, Counts& counts) {
  auto context = std::make_shared<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  TimerQueue::TimerId cancel = 0;
  if (std::uniform_int_distribution<>(0, 99)(random) < cancel_percent) {
    const absl::Duration after =
        absl::Microseconds(std::uniform_int_distribution<>(0, 80000)(random));
    cancel = cancels.ScheduleAfter(after, [context] { context->TryCancel(); });
  }
  const grpc::Status status = testing::RunCall(
      stub, static_cast<testing::CallKind>(kind % testing::kCallKinds),
      context.get(), wav);
  if (cancel != 0) cancels.Cancel(cancel);
  counts.calls.fetch_add(1);
  if (status.error_code() == grpc::StatusCode::CANCELLED)
    counts.cancelled.fetch_add(1);
  counts.by_code[status.error_code()].fetch_add(1);
}

int Main(int argc, char** argv) {
  const double minutes = std::stod(Flag(argc, argv, "minutes", "30"));
  const double warmup_minutes =
      std::stod(Flag(argc, argv, "warmup_minutes", "5"));
  const int clients = std::stoi(Flag(argc, argv, "clients", "8"));
  const int cancel_percent =
      std::stoi(Flag(argc, argv, "cancel_percent", "30"));
  const int sample_seconds =
      std::stoi(Flag(argc, argv, "sample_seconds", "10"));
  const std::string csv_path = Flag(argc, argv, "csv", "/tmp/soak.csv");

  auto fake = testing::FakeUpstream::Start();
  if (!fake.ok()) return 1;
  testing::FakeBehavior normal;
  normal.latency = absl::Milliseconds(20);
  normal.chunk_interval = absl::Milliseconds(2);
  normal.text = "a modest answer of a few words";
  (*fake)->SetDefault(normal);
  const int port = testing::FreePort();
  const std::string config_path = "/tmp/voxgate-soak.yaml";
  std::ofstream(config_path) << absl::StrReplaceAll(
      kConfig, {{"PORT", absl::StrCat(port)}, {"FAKE", (*fake)->base_url()}});
  auto gateway =
      testing::Subprocess::Start({"gateway/voxgate", "--config=" + config_path});
  if (!gateway.ok()) {
    std::fprintf(stderr, "%s\n", gateway.status().ToString().c_str());
    return 1;
  }
  std::atomic<bool> stop{false};
  std::thread drainer([&] {
    while (!stop.load() && gateway->DiscardStderr(absl::Milliseconds(200))) {
    }
  });
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                 std::chrono::seconds(30))) {
    std::fprintf(stderr, "gateway did not come up\n");
    return 1;
  }
  auto stub = v1::VoxgateService::NewStub(channel);
  const std::string wav = testing::ToneWav(440, 3.0, 16000, 1);

  Counts counts;
  for (int code = 0; code <= 16; ++code) counts.by_code[code];
  TimerQueue cancels;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937 random(c);
      for (int i = 0; !stop.load(); ++i) {
        RunMixedCall(*stub, c + i, random, cancel_percent, cancels, wav,
                     counts);
      }
    });
  }
  // Faults now and then: one request in 50 gets a 503, one in 100 a reset.
  std::thread weather([&] {
    testing::FakeBehavior unavailable = normal, reset = normal;
    unavailable.status = 503;
    reset.reset_before_response = true;
    for (int turn = 0; !stop.load(); ++turn) {
      (*fake)->Script("/v1/", turn % 2 ? unavailable : reset, 1);
      // The fake records every request, audio included: keep this process's
      // memory flat too.
      if (turn % 10 == 0) (*fake)->ClearRequests();
      absl::SleepFor(absl::Milliseconds(100));
    }
  });

  std::ofstream csv(csv_path);
  csv << "seconds,rss_kib,fds,calls,cancelled\n";
  std::printf("%8s %10s %6s %10s %10s\n", "t (s)", "RSS (KiB)", "fds", "calls",
              "cancelled");
  const absl::Time start = absl::Now();
  int64_t warm_rss = -1, warm_min = INT64_MAX, warm_max = 0;
  int warm_fds_min = INT32_MAX, warm_fds_max = 0;
  for (int n = 0;; ++n) {
    const absl::Time at = start + absl::Seconds(sample_seconds) * n;
    absl::SleepFor(at - absl::Now());
    const auto [rss, fds] = Sample(gateway->pid());
    const double t = absl::ToDoubleSeconds(absl::Now() - start);
    std::printf("%8.0f %10lld %6d %10lld %10lld\n", t,
                static_cast<long long>(rss), fds,
                static_cast<long long>(counts.calls.load()),
                static_cast<long long>(counts.cancelled.load()));
    std::fflush(stdout);
    csv << t << "," << rss << "," << fds << "," << counts.calls.load() << ","
        << counts.cancelled.load() << "\n";
    csv.flush();
    if (t >= warmup_minutes * 60) {
      if (warm_rss < 0) warm_rss = rss;
      warm_min = std::min(warm_min, rss);
      warm_max = std::max(warm_max, rss);
      warm_fds_min = std::min(warm_fds_min, fds);
      warm_fds_max = std::max(warm_fds_max, fds);
    }
    if (t >= minutes * 60) break;
  }
  stop.store(true);
  for (std::thread& thread : threads) thread.join();
  weather.join();
  std::printf("\ncalls %lld, cancelled %lld; by code:",
              static_cast<long long>(counts.calls.load()),
              static_cast<long long>(counts.cancelled.load()));
  for (auto& [code, count] : counts.by_code) {
    if (count.load() > 0)
      std::printf(" %d:%lld", code, static_cast<long long>(count.load()));
  }
  std::printf(
      "\nafter warm-up (%.0f min): RSS %lld..%lld KiB (first %lld, "
      "spread %.1f%% of the first), fds %d..%d\n",
      warmup_minutes, static_cast<long long>(warm_min),
      static_cast<long long>(warm_max), static_cast<long long>(warm_rss),
      warm_rss > 0 ? 100.0 * (warm_max - warm_min) / warm_rss : 0.0,
      warm_fds_min, warm_fds_max);
  drainer.join();  // Wait reads the log from here on
  gateway->Signal(SIGTERM);
  absl::StatusOr<int> exit_code = gateway->Wait(absl::Seconds(60));
  std::printf(
      "gateway exit after SIGTERM: %s\n",
      exit_code.ok() ? absl::StrCat(*exit_code).c_str() : "none within 60 s");
  return exit_code.ok() && *exit_code == 0 ? 0 : 1;
}

}  // namespace
}  // namespace voxgate::bench

int main(int argc, char** argv) { return voxgate::bench::Main(argc, argv); }
