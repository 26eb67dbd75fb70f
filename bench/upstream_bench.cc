// upstream_bench: requests/s and latency of the upstream layer against the fake
// upstream (zero latency), side by side with a plain libcurl multi loop sending
// the same requests: the floor any libcurl-based layer can reach.
//
// Closed loop: C callers each send a request as soon as the previous one
// answered. Modes per concurrency C, run one after another in one process:
//   curl      a bare curl_multi_poll loop, reused easy handles
//   pool      upstream::Pool + StartWithRetries + HttpClient (same request
//   bytes) backend   upstream::OpenAiBackend::Complete: also builds and parses
//   the JSON
//
// Usage: upstream_bench [--seconds=3] [--concurrency=1,64,512]

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "tests/fake_upstream/fake_upstream.h"
#include "upstream/http_client.h"
#include "upstream/openai_backend.h"
#include "upstream/openai_protocol.h"
#include "upstream/pool.h"
#include "upstream/retrying_call.h"

namespace voxgate::bench {
namespace {

using namespace ::voxgate::upstream;  // NOLINT: a benchmark of this namespace

constexpr absl::Duration kWarmup = absl::Milliseconds(500);

ChatRequest SmallChat() {
  ChatRequest request;
  request.messages.push_back(ChatMessage::Of("user", {ChatPart::Text("hi")}));
  return request;
}

struct Result {
  double requests_per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  int64_t errors = 0;
};

// Collects latencies after the warm-up, from any thread.
class Recorder {
 public:
  explicit Recorder(absl::Time measure_from, absl::Time stop_at)
      : measure_from_(measure_from), stop_at_(stop_at) {}

  // Records one request; false once the run is over.
  bool Record(absl::Time started, bool ok) {
    const absl::Time now = absl::Now();
    absl::MutexLock lock(&mu_);
    if (started >= measure_from_ && now <= stop_at_) {
      latencies_.push_back(absl::ToDoubleMicroseconds(now - started));
      if (!ok) ++errors_;
    }
    return now < stop_at_;
  }

  Result Summarise() {
    absl::MutexLock lock(&mu_);
    Result result;
    if (latencies_.empty()) return result;
    std::sort(latencies_.begin(), latencies_.end());
    result.requests_per_second =
        latencies_.size() / absl::ToDoubleSeconds(stop_at_ - measure_from_);
    result.p50_us = latencies_[latencies_.size() / 2];
    result.p99_us = latencies_[std::min(latencies_.size() - 1,
                                        latencies_.size() * 99 / 100)];
    result.errors = errors_;
    return result;
  }

 private:
  const absl::Time measure_from_;
  const absl::Time stop_at_;
  absl::Mutex mu_;
  std::vector<double> latencies_ ABSL_GUARDED_BY(mu_);
  int64_t errors_ ABSL_GUARDED_BY(mu_) = 0;
};

size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }

Result RunPlainCurl(const std::string& url, const std::string& body,
                    int concurrency, absl::Duration duration) {
  CURLM* multi = curl_multi_init();
  struct Slot {
    CURL* easy;
    absl::Time started;
  };
  std::vector<Slot> slots(concurrency);
  curl_slist* headers =
      curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");
  const absl::Time start = absl::Now();
  Recorder recorder(start + kWarmup, start + kWarmup + duration);
  for (Slot& slot : slots) {
    slot.easy = curl_easy_init();
    curl_easy_setopt(slot.easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(slot.easy, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(slot.easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(slot.easy, CURLOPT_WRITEFUNCTION, &Discard);
    curl_easy_setopt(slot.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(slot.easy, CURLOPT_PRIVATE, &slot);
    slot.started = absl::Now();
    curl_multi_add_handle(multi, slot.easy);
  }
  int running = concurrency;
  bool going = true;
  while (running > 0) {
    curl_multi_perform(multi, &running);
    int queued;
    while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      Slot* slot;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &slot);
      long code = 0;
      curl_easy_getinfo(message->easy_handle, CURLINFO_RESPONSE_CODE, &code);
      going = recorder.Record(slot->started, message->data.result == CURLE_OK &&
                                                 code == 200) &&
              going;
      curl_multi_remove_handle(multi, slot->easy);
      if (going) {
        slot->started = absl::Now();
        curl_multi_add_handle(multi, slot->easy);
        ++running;
      }
    }
    if (running > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  for (Slot& slot : slots) curl_easy_cleanup(slot.easy);
  curl_slist_free_all(headers);
  curl_multi_cleanup(multi);
  return recorder.Summarise();
}

// Runs `concurrency` closed-loop callers of `start_one`, which must call its
// argument once per request with (ok).
Result RunClosedLoop(
    int concurrency, absl::Duration duration,
    const std::function<void(std::function<void(bool)>)>& start_one) {
  const absl::Time start = absl::Now();
  auto recorder =
      std::make_shared<Recorder>(start + kWarmup, start + kWarmup + duration);
  std::atomic<int> active{concurrency};
  absl::Notification all_done;
  std::function<void()> issue;
  issue = [&] {
    const absl::Time started = absl::Now();
    start_one([&, started](bool ok) {
      if (recorder->Record(started, ok)) {
        issue();
      } else if (--active == 0) {
        all_done.Notify();
      }
    });
  };
  for (int i = 0; i < concurrency; ++i) issue();
  all_done.WaitForNotification();
  return recorder->Summarise();
}

void PrintRow(const char* mode, int concurrency, const Result& result,
              const Result& floor) {
  std::printf("| %-7s | %4d | %9.0f | %8.1f | %8.1f | %+8.1f | %6lld |\n", mode,
              concurrency, result.requests_per_second, result.p50_us,
              result.p99_us, result.p50_us - floor.p50_us,
              static_cast<long long>(result.errors));
  std::fflush(stdout);
}

int Main(int argc, char** argv) {
  absl::Duration duration = absl::Seconds(3);
  std::vector<int> concurrencies = {1, 64, 512};
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    int seconds;
    if (absl::ConsumePrefix(&arg, "--seconds=") &&
        absl::SimpleAtoi(arg, &seconds)) {
      duration = absl::Seconds(seconds);
    } else if (absl::ConsumePrefix(&arg, "--concurrency=")) {
      concurrencies.clear();
      for (absl::string_view piece : absl::StrSplit(arg, ',')) {
        int value;
        if (absl::SimpleAtoi(piece, &value)) concurrencies.push_back(value);
      }
    } else {
      std::fprintf(
          stderr,
          "usage: upstream_bench [--seconds=N] [--concurrency=1,64,512]\n");
      return 2;
    }
  }
  auto fake = testing::FakeUpstream::Start();
  if (!fake.ok()) return 1;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  auto request =
      ChatHttpRequest((*fake)->base_url(), SmallChat(), "fake-model", false);
  const std::string url = request->url;
  const std::string body = request->body;

  std::printf(
      "| mode    | conc | req/s     | p50 µs   | p99 µs   | Δp50 µs  | errors "
      "|\n");
  std::printf(
      "|---------|------|-----------|----------|----------|----------|--------|"
      "\n");
  for (int concurrency : concurrencies) {
    auto http = HttpClient::Create();
    TimerQueue timers;
    RetryBudget budget;
    PoolOptions options;
    options.name = "bench";
    options.endpoints = {{(*fake)->base_url(), 1, concurrency}};
    std::unique_ptr<Pool> pool = Pool::Create(options, **http, timers);
    PoolContext context{*pool, **http, timers, budget, RetryPolicy{}, {}};
    OpenAiBackend backend(context, {OpenAiProtocol::kChat, "fake-model", ""});

    const Result floor = RunPlainCurl(url, body, concurrency, duration);
    PrintRow("curl", concurrency, floor, floor);
    const Result layered = RunClosedLoop(
        concurrency, duration, [&](std::function<void(bool)> done) {
          StartWithRetries(
              context, CallOptions{absl::Now() + absl::Seconds(30), ""},
              [&](const std::string&) -> absl::StatusOr<HttpRequest> {
                HttpRequest http_request;
                http_request.url = url;
                http_request.body = body;
                http_request.headers = {{"Content-Type", "application/json"}};
                return http_request;
              },
              MakeBufferingObserver(
                  [done](absl::StatusOr<HttpResponse> response) {
                    done(response.ok() && response->status_code == 200);
                  }));
        });
    PrintRow("pool", concurrency, layered, floor);
    const Result full = RunClosedLoop(
        concurrency, duration, [&](std::function<void(bool)> done) {
          backend.Complete(SmallChat(),
                           CallOptions{absl::Now() + absl::Seconds(30), ""},
                           [done](absl::StatusOr<ChatCompletion> completion) {
                             done(completion.ok());
                           });
        });
    PrintRow("backend", concurrency, full, floor);
  }
  return 0;
}

}  // namespace
}  // namespace voxgate::bench

int main(int argc, char** argv) { return voxgate::bench::Main(argc, argv); }
