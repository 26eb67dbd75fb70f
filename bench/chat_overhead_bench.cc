// chat_overhead_bench: latency the gateway adds to Chat, side by side in one
// run with calling the fake upstream directly over HTTP with the same body.
//
// Open loop: requests leave at a fixed rate whatever the answers do (a send
// never waits for an answer, so there is no coordinated omission), and latency
// is measured from each request's actual send, the same way on every path.
// The voxgate binary runs as its own process (as deployed) with --text_base_url
// at the fake upstream (zero latency) in this process. A closed loop at 64 in
// flight then finds the highest rate each path sustains, and the fake's own
// capacity.
//
// Usage: bazel run -c opt //bench:chat_overhead_bench -- [--seconds=5]
//        [--rates=500,1000,2000] [--log_level=info] [--client=cq|callback]
//        [--channels=1] [--gateway_cpu=-1] [--repeat=1] [--binary=PATH]
//
// --repeat=N runs every rate N times (the three paths in turn each time) and
// prints the median of each column, and every run's added p99: on a shared VM
// one run's p99 is not a figure.

#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "bench/queue_load.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "tests/fake_upstream/fake_upstream.h"
#include "tests/free_port.h"
#include "tests/subprocess.h"
#include "upstream/http_client.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::bench {
namespace {

// Sends `send(scheduled, done)` at `rate` per second for `duration`; waits for
// all.
LatencyStats OpenLoop(
    double rate, absl::Duration duration,
    const std::function<void(absl::Time, std::function<void(bool)>)>& send) {
  Latencies latencies;
  std::atomic<int64_t> outstanding{0};
  const absl::Duration interval = absl::Seconds(1) / rate;
  const absl::Time start = absl::Now() + absl::Milliseconds(50);
  const int64_t total =
      static_cast<int64_t>(rate * absl::ToDoubleSeconds(duration));
  for (int64_t i = 0; i < total; ++i) {
    const absl::Time scheduled = start + interval * i;
    const absl::Duration wait = scheduled - absl::Now();
    if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
    outstanding++;
    const absl::Time sent = absl::Now();
    send(scheduled, [&latencies, &outstanding, sent](bool ok) {
      latencies.Add(absl::Now() - sent, ok);
      outstanding--;
    });
  }
  const absl::Time last_send = absl::Now();
  while (outstanding.load() > 0) absl::SleepFor(absl::Milliseconds(1));
  return latencies.Summarise(last_send - start);
}

// The three paths measured at one rate, in one run.
struct Row {
  LatencyStats direct;
  LatencyStats gateway;
  LatencyStats grpc_hop;
  double added_p99() const { return gateway.p99_us - direct.p99_us; }
};

// The median over the runs of one figure of a row.
double Median(const std::vector<Row>& runs,
              const std::function<double(const Row&)>& figure) {
  std::vector<double> values;
  for (const Row& row : runs) values.push_back(figure(row));
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Keeps `concurrency` requests in flight for `duration`; returns requests/s.
double ClosedLoop(
    int concurrency, absl::Duration duration,
    const std::function<void(absl::Time, std::function<void(bool)>)>& send) {
  std::atomic<int64_t> completed{0};
  std::atomic<int> active{concurrency};
  const absl::Time stop = absl::Now() + duration;
  absl::Notification done;
  std::function<void()> issue = [&] {
    send(absl::Now(), [&](bool) {
      completed++;
      if (absl::Now() < stop) {
        issue();
      } else if (--active == 0) {
        done.Notify();
      }
    });
  };
  for (int i = 0; i < concurrency; ++i) issue();
  done.WaitForNotification();
  return completed.load() / absl::ToDoubleSeconds(duration);
}

int Main(int argc, char** argv) {
  absl::Duration duration = absl::Seconds(5);
  std::vector<double> rates = {500, 1000, 2000};
  std::string log_level = "info";
  // >= 0: the gateway runs on that CPU alone and this process (load generator
  // and fake) on the other, so the two do not take each other's core.
  int gateway_cpu = -1;
  // gRPC connections the load comes over (1: one client multiplexing all).
  int channels = 1;
  // "cq": QueueLoad, one thread sending and reaping on a completion queue;
  // "callback": the callback API (gRPC's own threads run each completion).
  std::string client = "cq";
  int repeat = 1;
  // The gateway binary: this build's, or another (an older commit's, for a
  // before/after comparison on the same machine).
  std::string binary = "gateway/voxgate";
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    int seconds;
    if (absl::ConsumePrefix(&arg, "--seconds=") &&
        absl::SimpleAtoi(arg, &seconds)) {
      duration = absl::Seconds(seconds);
    } else if (absl::ConsumePrefix(&arg, "--binary=")) {
      binary = std::string(arg);
    } else if (absl::ConsumePrefix(&arg, "--repeat=")) {
      if (!absl::SimpleAtoi(arg, &repeat) || repeat < 1) repeat = 1;
    } else if (absl::ConsumePrefix(&arg, "--channels=")) {
      (void)absl::SimpleAtoi(arg, &channels);
    } else if (absl::ConsumePrefix(&arg, "--client=")) {
      client = std::string(arg);
    } else if (absl::ConsumePrefix(&arg, "--gateway_cpu=")) {
      (void)absl::SimpleAtoi(arg, &gateway_cpu);
    } else if (absl::ConsumePrefix(&arg, "--log_level=")) {
      log_level = std::string(arg);
    } else if (absl::ConsumePrefix(&arg, "--rates=")) {
      rates.clear();
      for (absl::string_view piece : absl::StrSplit(arg, ',')) {
        double rate;
        if (absl::SimpleAtod(piece, &rate)) rates.push_back(rate);
      }
    }
  }
  if (gateway_cpu >= 0) {
    // Before any thread starts: threads inherit the affinity.
    cpu_set_t others;
    CPU_ZERO(&others);
    CPU_SET(gateway_cpu == 0 ? 1 : 0, &others);
    sched_setaffinity(0, sizeof(others), &others);
  }
  auto fake = testing::FakeUpstream::Start();
  if (!fake.ok()) return 1;
  // Default log level (info: one JSON line per call, as deployed) unless
  // --log_level says otherwise; the port is chosen here so any level works.
  const int port = testing::FreePort();
  std::vector<std::string> command = {binary,
                                      absl::StrCat("--listen=127.0.0.1:", port),
                                      "--admin_listen=127.0.0.1:0",
                                      "--http_listen=127.0.0.1:0",
                                      "--log_level=" + log_level,
                                      "--text_base_url=" + (*fake)->base_url(),
                                      "--text_model=fake-model"};
  if (gateway_cpu >= 0) {
    command.insert(command.begin(),
                   {"/usr/bin/taskset", "-c", absl::StrCat(gateway_cpu)});
  }
  auto gateway = testing::Subprocess::Start(command);
  if (!gateway.ok()) return 1;
  // Keep reading the gateway's log so its pipe never fills, without keeping
  // it: this thread shares the load generator's core.
  std::atomic<bool> stop_draining{false};
  std::thread drainer([&] {
    while (!stop_draining.load() &&
           gateway->DiscardStderr(absl::Milliseconds(200))) {
    }
  });

  // `channels` connections, as that many clients would open (a distinct
  // channel argument keeps gRPC from sharing one connection); calls take
  // them in turn.
  std::vector<std::unique_ptr<v1::VoxgateService::Stub>> stubs;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments arguments;
    arguments.SetInt("voxgate.bench.client", i);
    auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                             grpc::InsecureChannelCredentials(),
                                             arguments);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                   std::chrono::seconds(30))) {
      std::fprintf(stderr, "gateway did not come up\n");
      return 1;
    }
    stubs.push_back(v1::VoxgateService::NewStub(channel));
  }
  std::atomic<uint64_t> next_stub{0};
  auto stub_for_call = [&]() -> v1::VoxgateService::Stub& {
    return *stubs[next_stub.fetch_add(1) % stubs.size()];
  };
  v1::ChatRequest request;
  v1::ChatMessage* message = request.add_messages();
  message->set_role(v1::ROLE_USER);
  message->add_content()->set_text("hi");

  const bool use_queue = client == "cq";
  QueueLoad queue_load;
  const QueueLoad::Start chat_call = QueueLoad::Unary<v1::ChatResponse>(
      [&](grpc::ClientContext* context, grpc::CompletionQueue* queue) {
        return stub_for_call().PrepareAsyncChat(context, request, queue);
      });
  // The gRPC hop alone: ListModels is answered by the gateway itself, no
  // upstream, no worker; it tells the gRPC stack's share of the added time.
  const v1::ListModelsRequest list_request;
  const QueueLoad::Start list_call = QueueLoad::Unary<v1::ListModelsResponse>(
      [&](grpc::ClientContext* context, grpc::CompletionQueue* queue) {
        return stub_for_call().PrepareAsyncListModels(context, list_request,
                                                      queue);
      });
  auto via_gateway = [&](absl::Time, std::function<void(bool)> done) {
    struct Call {
      grpc::ClientContext context;
      v1::ChatResponse response;
    };
    auto* call = new Call();
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(10));
    stub_for_call().async()->Chat(&call->context, &request, &call->response,
                                  [call, done](grpc::Status status) {
                                    done(status.ok());
                                    delete call;
                                  });
  };
  auto grpc_only = [&](absl::Time, std::function<void(bool)> done) {
    struct Call {
      grpc::ClientContext context;
      v1::ListModelsRequest request;
      v1::ListModelsResponse response;
    };
    auto* call = new Call();
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(10));
    stub_for_call().async()->ListModels(&call->context, &call->request,
                                        &call->response,
                                        [call, done](grpc::Status status) {
                                          done(status.ok());
                                          delete call;
                                        });
  };
  auto http = upstream::HttpClient::Create();
  const std::string body =
      R"({"model":"fake-model","messages":[{"role":"user","content":"hi"}]})";
  auto direct = [&](absl::Time, std::function<void(bool)> done) {
    upstream::HttpRequest http_request;
    http_request.url = (*fake)->base_url() + "/chat/completions";
    http_request.headers = {{"Content-Type", "application/json"}};
    http_request.body = body;
    (*http)->Fetch(std::move(http_request),
                   [done](absl::StatusOr<upstream::HttpResponse> r) {
                     done(r.ok() && r->status_code == 200);
                   });
  };

  // Warm both paths (connections, gateway threads).
  ClosedLoop(8, absl::Seconds(1), via_gateway);
  ClosedLoop(8, absl::Seconds(1), direct);

  std::printf(
      "| rate req/s | direct p50 µs | direct p99 µs | gateway p50 µs | gateway "
      "p99 µs | added p50 µs | added p99 µs | added p99 of each of %d runs "
      "| gRPC hop alone (ListModels) p50 µs | p99 µs | errors |\n",
      repeat);
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (double rate : rates) {
    std::vector<Row> runs;
    int64_t errors = 0;
    for (int run = 0; run < repeat; ++run) {
      Row row;
      row.direct = OpenLoop(rate, duration, direct);
      row.gateway = use_queue ? queue_load.OpenLoop(rate, duration, chat_call)
                              : OpenLoop(rate, duration, via_gateway);
      row.grpc_hop = use_queue ? queue_load.OpenLoop(rate, duration, list_call)
                               : OpenLoop(rate, duration, grpc_only);
      for (const LatencyStats* stats :
           {&row.direct, &row.gateway, &row.grpc_hop}) {
        errors += stats->errors;
        if (stats->achieved_rate < 0.97 * rate) {
          std::printf("(the load generator fell behind: %.0f req/s sent)\n",
                      stats->achieved_rate);
        }
      }
      runs.push_back(row);
    }
    auto median = [&runs](const std::function<double(const Row&)>& figure) {
      return Median(runs, figure);
    };
    // Every run's added p99, lowest first: the spread is part of the figure.
    std::vector<double> added_p99s;
    for (const Row& row : runs) added_p99s.push_back(row.added_p99());
    std::sort(added_p99s.begin(), added_p99s.end());
    std::string each_run;
    for (double added : added_p99s) {
      absl::StrAppend(&each_run, each_run.empty() ? "" : " ",
                      absl::StrFormat("%+.0f", added));
    }
    std::printf(
        "| %.0f | %.0f | %.0f | %.0f | %.0f | %+.0f | %+.0f | %s | "
        "%.0f | %.0f | %lld |\n",
        rate, median([](const Row& r) { return r.direct.p50_us; }),
        median([](const Row& r) { return r.direct.p99_us; }),
        median([](const Row& r) { return r.gateway.p50_us; }),
        median([](const Row& r) { return r.gateway.p99_us; }),
        median([](const Row& r) { return r.gateway.p50_us - r.direct.p50_us; }),
        median([](const Row& r) { return r.added_p99(); }), each_run.c_str(),
        median([](const Row& r) { return r.grpc_hop.p50_us; }),
        median([](const Row& r) { return r.grpc_hop.p99_us; }),
        static_cast<long long>(errors));
    std::fflush(stdout);
  }
  const double gateway_max = ClosedLoop(64, duration, via_gateway);
  const double fake_max = ClosedLoop(64, duration, direct);
  std::printf(
      "\nclosed loop, 64 in flight: gateway %.0f req/s; fake alone over HTTP "
      "%.0f req/s\n",
      gateway_max, fake_max);
  stop_draining.store(true);
  drainer.join();
  gateway->Signal(SIGTERM);
  (void)gateway->Wait(absl::Seconds(10));
  return 0;
}

}  // namespace
}  // namespace voxgate::bench

int main(int argc, char** argv) { return voxgate::bench::Main(argc, argv); }
