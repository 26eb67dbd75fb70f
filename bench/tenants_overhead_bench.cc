// tenants_overhead_bench: what API keys and Redis-backed rate limits add to
// Chat, side by side in one run. Two gateway processes (same binary, same
// fake upstream in this process, same open-loop load): one as it starts by
// default, one with a keys file and a tenant whose requests-per-minute limit
// is counted in a real redis-server for every call (in leased permits, the
// default redis.lease_size; a limit it never reaches, so every call is
// served). Runs alternate between the two
// so the machine's drift hits both alike; the medians of each figure and the
// difference (tenants minus plain) are printed.
//
// Usage: bazel run -c opt //bench:tenants_overhead_bench -- [--seconds=10]
//        [--rates=1000,2000] [--repeat=5] [--gateway_cpu=1] [--redis_cpu=-1]
//
// With --gateway_cpu the gateways run on that core and this process (load
// generator, fake) on the other; Redis runs where --redis_cpu says (default:
// with the load generator, as a busy neighbour would have it).

#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "bench/queue_load.h"
#include "grpcpp/grpcpp.h"
#include "tenancy/api_key.h"
#include "tests/fake_upstream/fake_upstream.h"
#include "tests/free_port.h"
#include "tests/subprocess.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::bench {
namespace {

struct Gateway {
  testing::Subprocess process;
  std::unique_ptr<v1::VoxgateService::Stub> stub;
};

absl::StatusOr<Gateway> StartGateway(std::vector<std::string> command,
                                     int port) {
  auto process = testing::Subprocess::Start(command);
  if (!process.ok()) return process.status();
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                 std::chrono::seconds(30))) {
    return absl::UnavailableError("the gateway did not come up");
  }
  return Gateway{*std::move(process), v1::VoxgateService::NewStub(channel)};
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

int Main(int argc, char** argv) {
  absl::Duration duration = absl::Seconds(10);
  std::vector<double> rates = {1000, 2000};
  int repeat = 5;
  int gateway_cpu = -1;
  int redis_cpu = -1;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    int value;
    if (absl::ConsumePrefix(&arg, "--seconds=") &&
        absl::SimpleAtoi(arg, &value)) {
      duration = absl::Seconds(value);
    } else if (absl::ConsumePrefix(&arg, "--repeat=") &&
               absl::SimpleAtoi(arg, &value)) {
      repeat = std::max(1, value);
    } else if (absl::ConsumePrefix(&arg, "--gateway_cpu=")) {
      (void)absl::SimpleAtoi(arg, &gateway_cpu);
    } else if (absl::ConsumePrefix(&arg, "--redis_cpu=")) {
      (void)absl::SimpleAtoi(arg, &redis_cpu);
    } else if (absl::ConsumePrefix(&arg, "--rates=")) {
      rates.clear();
      for (absl::string_view piece : absl::StrSplit(arg, ',')) {
        double rate;
        if (absl::SimpleAtod(piece, &rate)) rates.push_back(rate);
      }
    }
  }
  if (gateway_cpu >= 0) {
    cpu_set_t others;
    CPU_ZERO(&others);
    CPU_SET(gateway_cpu == 0 ? 1 : 0, &others);
    sched_setaffinity(0, sizeof(others), &others);
  }
  auto fake = testing::FakeUpstream::Start();
  if (!fake.ok()) return 1;
  // Redis and the keys file, for the tenants gateway.
  const int redis_port = testing::FreePort();
  std::vector<std::string> redis_command = {"/usr/bin/redis-server",
                                            "--port",
                                            absl::StrCat(redis_port),
                                            "--bind",
                                            "127.0.0.1",
                                            "--save",
                                            "",
                                            "--appendonly",
                                            "no"};
  if (redis_cpu >= 0) {
    redis_command.insert(redis_command.begin(),
                         {"/usr/bin/taskset", "-c", absl::StrCat(redis_cpu)});
  }
  auto redis = testing::Subprocess::Start(redis_command);
  if (!redis.ok()) return 1;
  const tenancy::MintedKey key = tenancy::MintKey();
  const std::string keys_path =
      absl::StrCat("/tmp/voxgate-bench-keys-", getpid(), ".yaml");
  std::ofstream(keys_path) << absl::StrCat(
      "tenants:\n  - name: bench\n    limits: {requests_per_minute: "
      "{general: 100000000}}\nkeys:\n  - {id: \"",
      key.id, "\", tenant: bench, hash: \"", key.hash, "\"}\n");

  std::vector<Gateway> gateways;
  for (bool tenants : {false, true}) {
    const int port = testing::FreePort();
    std::vector<std::string> command = {
        "gateway/voxgate",
        absl::StrCat("--listen=127.0.0.1:", port),
        "--admin_listen=127.0.0.1:0",
        "--http_listen=off",
        "--text_base_url=" + (*fake)->base_url(),
        "--text_model=fake-model"};
    if (tenants) {
      command.push_back("--keys_file=" + keys_path);
      command.push_back(absl::StrCat("--redis_address=127.0.0.1:", redis_port));
    }
    if (gateway_cpu >= 0) {
      command.insert(command.begin(),
                     {"/usr/bin/taskset", "-c", absl::StrCat(gateway_cpu)});
    }
    auto gateway = StartGateway(command, port);
    if (!gateway.ok()) {
      std::fprintf(stderr, "%s\n", gateway.status().ToString().c_str());
      return 1;
    }
    gateways.push_back(*std::move(gateway));
  }

  v1::ChatRequest request;
  v1::ChatMessage* message = request.add_messages();
  message->set_role(v1::ROLE_USER);
  message->add_content()->set_text("hi");
  const std::string authorization = "Bearer " + key.key;
  QueueLoad load;
  auto chat = [&](int which) {
    return QueueLoad::Unary<v1::ChatResponse>(
        [&, which](grpc::ClientContext* context, grpc::CompletionQueue* queue) {
          if (which == 1) context->AddMetadata("authorization", authorization);
          return gateways[which].stub->PrepareAsyncChat(context, request,
                                                        queue);
        });
  };
  const QueueLoad::Start calls[2] = {chat(0), chat(1)};
  // Warm both (connections, threads, the Redis connection and script).
  for (const auto& call : calls) load.OpenLoop(500, absl::Seconds(1), call);

  std::printf(
      "| rate req/s | plain p50 µs | plain p99 µs | keys+Redis p50 µs | "
      "keys+Redis p99 µs | added p50 µs | added p99 µs | added p99 of each "
      "of %d runs | errors |\n|---|---|---|---|---|---|---|---|---|\n",
      repeat);
  for (double rate : rates) {
    std::vector<double> p50[2], p99[2], added_p50, added_p99;
    int64_t errors = 0;
    for (int run = 0; run < repeat; ++run) {
      LatencyStats stats[2];
      for (int which : {0, 1}) {
        stats[which] = load.OpenLoop(rate, duration, calls[which]);
        errors += stats[which].errors;
        p50[which].push_back(stats[which].p50_us);
        p99[which].push_back(stats[which].p99_us);
      }
      added_p50.push_back(stats[1].p50_us - stats[0].p50_us);
      added_p99.push_back(stats[1].p99_us - stats[0].p99_us);
    }
    std::string each;
    std::vector<double> sorted = added_p99;
    std::sort(sorted.begin(), sorted.end());
    for (double value : sorted) {
      absl::StrAppend(&each, each.empty() ? "" : " ",
                      absl::StrFormat("%+.0f", value));
    }
    std::printf(
        "| %.0f | %.0f | %.0f | %.0f | %.0f | %+.0f | %+.0f | %s | %lld |\n",
        rate, Median(p50[0]), Median(p99[0]), Median(p50[1]), Median(p99[1]),
        Median(added_p50), Median(added_p99), each.c_str(),
        static_cast<long long>(errors));
    std::fflush(stdout);
  }
  for (Gateway& gateway : gateways) {
    gateway.process.Signal(SIGTERM);
    (void)gateway.process.Wait(absl::Seconds(10));
  }
  redis->Signal(SIGTERM);
  (void)redis->Wait(absl::Seconds(10));
  std::remove(keys_path.c_str());
  return 0;
}

}  // namespace
}  // namespace voxgate::bench

int main(int argc, char** argv) { return voxgate::bench::Main(argc, argv); }
