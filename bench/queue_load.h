#ifndef VOXGATE_BENCH_QUEUE_LOAD_H_
#define VOXGATE_BENCH_QUEUE_LOAD_H_

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace voxgate::bench {

// Latency percentiles of one load run, in microseconds from each send.
struct LatencyStats {
  double achieved_rate = 0;  // requests sent per second
  double p50_us = 0;
  double p99_us = 0;
  double p999_us = 0;
  int64_t errors = 0;
};

// Collects latencies from any thread.
class Latencies {
 public:
  void Add(absl::Duration latency, bool ok) {
    absl::MutexLock lock(&mu_);
    values_.push_back(absl::ToDoubleMicroseconds(latency));
    if (!ok) ++errors_;
  }
  LatencyStats Summarise(absl::Duration window) {
    absl::MutexLock lock(&mu_);
    LatencyStats stats;
    if (values_.empty()) return stats;
    std::sort(values_.begin(), values_.end());
    auto at = [this](double fraction) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return values_[std::min(
          values_.size() - 1,
          static_cast<std::size_t>(values_.size() * fraction))];
    };
    stats.achieved_rate = values_.size() / absl::ToDoubleSeconds(window);
    stats.p50_us = at(0.5);
    stats.p99_us = at(0.99);
    stats.p999_us = at(0.999);
    stats.errors = errors_;
    return stats;
  }

 private:
  absl::Mutex mu_;
  std::vector<double> values_ ABSL_GUARDED_BY(mu_);
  int64_t errors_ ABSL_GUARDED_BY(mu_) = 0;
};

// Open-loop gRPC load from one thread that both starts calls and reaps their
// completions: between sends it waits on the completion queue until the next
// send is due. No second client thread contends for the connection, so the
// client adds no hand-offs of its own (the callback API and a separately
// drained queue each added about a millisecond to the p99 here). gRPC's queue
// wakes on millisecond ticks, so a send can leave up to 1 ms after its slot:
// latency is measured from the actual send, and the table says when the sends
// fell behind the rate.
class QueueLoad {
 public:
  struct Call {
    virtual ~Call() = default;
    grpc::ClientContext context;
    grpc::Status status;
    absl::Time sent;
  };
  // Starts one call on `queue` with the returned object as its tag.
  using Start = std::function<Call*(grpc::CompletionQueue* queue)>;

  template <typename Response, typename Prepare>
  static Start Unary(Prepare prepare) {
    struct Typed : Call {
      Response response;
      std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader;
    };
    return [prepare](grpc::CompletionQueue* queue) -> Call* {
      auto* call = new Typed();
      call->context.set_deadline(std::chrono::system_clock::now() +
                                 std::chrono::seconds(10));
      call->sent = absl::Now();
      call->reader = prepare(&call->context, queue);
      call->reader->StartCall();
      call->reader->Finish(&call->response, &call->status, call);
      return call;
    };
  }

  ~QueueLoad() {
    queue_.Shutdown();
    void* tag;
    bool ok;
    while (queue_.Next(&tag, &ok)) delete static_cast<Call*>(tag);
  }

  LatencyStats OpenLoop(double rate, absl::Duration duration,
                        const Start& start) {
    Latencies latencies;
    const absl::Duration interval = absl::Seconds(1) / rate;
    const absl::Time first = absl::Now() + absl::Milliseconds(50);
    const int64_t total =
        static_cast<int64_t>(rate * absl::ToDoubleSeconds(duration));
    int64_t sent = 0;
    int64_t outstanding = 0;
    absl::Time last_send = first;
    while (sent < total || outstanding > 0) {
      const absl::Time due = sent < total ? first + interval * sent
                                          : absl::Now() + absl::Seconds(1);
      if (sent < total && absl::Now() >= due) {
        start(&queue_);
        if (++sent == total) last_send = absl::Now();
        ++outstanding;
        continue;
      }
      void* tag;
      bool ok;
      if (queue_.AsyncNext(&tag, &ok, absl::ToChronoTime(due)) ==
          grpc::CompletionQueue::GOT_EVENT) {
        std::unique_ptr<Call> call(static_cast<Call*>(tag));
        latencies.Add(absl::Now() - call->sent, call->status.ok());
        --outstanding;
      }
    }
    return latencies.Summarise(last_send - first);
  }

 private:
  grpc::CompletionQueue queue_;
};

}  // namespace voxgate::bench

#endif  // VOXGATE_BENCH_QUEUE_LOAD_H_
