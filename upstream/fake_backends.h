#ifndef VOXGATE_UPSTREAM_FAKE_BACKENDS_H_
#define VOXGATE_UPSTREAM_FAKE_BACKENDS_H_

// Backends that hold every request until the test answers it, and a routing
// that hands them out: for tests of the calls' lifecycle (cancels at chosen
// points, answers in chosen orders) without HTTP. Answers and cancellations
// are delivered from a thread of the fakes' own, as real backends never
// answer on the thread that starts or cancels. Thread-safe.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/timer_queue.h"
#include "upstream/routing.h"

namespace voxgate::upstream {

// One held request: what it asked for, and how it may end.
class FakeCall final : public Transfer,
                       public std::enable_shared_from_this<FakeCall> {
 public:
  FakeCall(TimerQueue& delivery, std::function<void(absl::Status)> on_cancel)
      : delivery_(delivery), on_cancel_(std::move(on_cancel)) {}

  void Cancel() override {
    {
      absl::MutexLock lock(&mu_);
      if (ended_) return;
      ended_ = true;
      cancelled_ = true;
    }
    delivery_.Post([self = shared_from_this()] {
      self->on_cancel_(absl::CancelledError("fake: cancelled"));
    });
  }
  void Resume() override {}

  // Ends the request with `deliver` (on the delivery thread) unless it was
  // cancelled; false then.
  bool End(std::function<void()> deliver) {
    {
      absl::MutexLock lock(&mu_);
      if (ended_) return false;
      ended_ = true;
    }
    delivery_.Post(std::move(deliver));
    return true;
  }
  bool cancelled() const {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }
  bool ended() const {
    absl::MutexLock lock(&mu_);
    return ended_;
  }

 private:
  TimerQueue& delivery_;
  std::function<void(absl::Status)> on_cancel_;
  mutable absl::Mutex mu_;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

// Records calls in order; the test waits for them and ends them.
template <typename Request>
class HeldCalls {
 public:
  struct Held {
    Request request;
    std::shared_ptr<FakeCall> call;
  };

  std::shared_ptr<FakeCall> Add(Request request, TimerQueue& delivery,
                                std::function<void(absl::Status)> on_cancel) {
    auto call = std::make_shared<FakeCall>(delivery, std::move(on_cancel));
    absl::MutexLock lock(&mu_);
    held_.push_back({std::move(request), call});
    return call;
  }
  // Waits until at least `count` calls arrived; false after `timeout`.
  bool WaitFor(int count, absl::Duration timeout = absl::Seconds(30)) const {
    absl::MutexLock lock(&mu_);
    auto enough = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return static_cast<int>(held_.size()) >= count;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
  Held Get(int index) const {
    absl::MutexLock lock(&mu_);
    return held_.at(index);
  }
  int size() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(held_.size());
  }
  int cancelled() const {
    absl::MutexLock lock(&mu_);
    int count = 0;
    for (const Held& held : held_) count += held.call->cancelled() ? 1 : 0;
    return count;
  }
  int open() const {
    absl::MutexLock lock(&mu_);
    int count = 0;
    for (const Held& held : held_) count += held.call->ended() ? 0 : 1;
    return count;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Held> held_ ABSL_GUARDED_BY(mu_);
};

class FakeChatBackend final : public ChatBackend {
 public:
  explicit FakeChatBackend(TimerQueue& delivery) : delivery_(delivery) {}

  std::shared_ptr<Transfer> Complete(ChatRequest request, const CallOptions&,
                                     Done done) override {
    auto shared = std::make_shared<Done>(std::move(done));
    // One lock over both: the index of the call is the index of its answer.
    std::lock_guard<std::mutex> lock(mu_);
    complete_done_.push_back(shared);
    return completions.Add(std::move(request), delivery_,
                           [shared](absl::Status s) { (*shared)(s); });
  }
  std::shared_ptr<Transfer> Stream(
      ChatRequest request, const CallOptions&,
      std::shared_ptr<ChatStreamObserver> observer) override {
    std::lock_guard<std::mutex> lock(mu_);
    stream_observers_.push_back(observer);
    return streams.Add(
        std::move(request), delivery_,
        [observer](absl::Status s) { observer->OnDone(std::move(s)); });
  }
  bool available() const override { return true; }

  // Answers completion `index`; false when it was cancelled first.
  bool Answer(int index, absl::StatusOr<ChatCompletion> answer) {
    std::shared_ptr<Done> done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done = complete_done_.at(index);
    }
    return completions.Get(index).call->End(
        [done, answer = std::move(answer)] { (*done)(answer); });
  }
  // Sends `deltas` and then the end `status` on stream `index`.
  bool EndStream(int index, std::vector<ChatDelta> deltas,
                 absl::Status status) {
    std::shared_ptr<ChatStreamObserver> observer;
    {
      std::lock_guard<std::mutex> lock(mu_);
      observer = stream_observers_.at(index);
    }
    return streams.Get(index).call->End(
        [observer, deltas = std::move(deltas), status] {
          for (const ChatDelta& delta : deltas) observer->OnDelta(delta);
          observer->OnDone(status);
        });
  }

  HeldCalls<ChatRequest> completions;
  HeldCalls<ChatRequest> streams;

 private:
  TimerQueue& delivery_;
  std::mutex mu_;
  std::vector<std::shared_ptr<Done>> complete_done_;
  std::vector<std::shared_ptr<ChatStreamObserver>> stream_observers_;
};

class FakeTranscriptionBackend final : public TranscriptionBackend {
 public:
  explicit FakeTranscriptionBackend(TimerQueue& delivery)
      : delivery_(delivery) {}

  std::shared_ptr<Transfer> Transcribe(TranscriptionRequest request,
                                       const CallOptions&, Done done) override {
    auto shared = std::make_shared<Done>(std::move(done));
    std::lock_guard<std::mutex> lock(mu_);
    done_.push_back(shared);
    return requests.Add(std::move(request), delivery_,
                        [shared](absl::Status s) { (*shared)(s); });
  }
  bool available() const override { return true; }
  bool returns_segments() const override { return false; }
  bool returns_words() const override { return false; }

  bool Answer(int index, absl::StatusOr<Transcription> answer) {
    std::shared_ptr<Done> done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done = done_.at(index);
    }
    return requests.Get(index).call->End(
        [done, answer = std::move(answer)] { (*done)(answer); });
  }

  HeldCalls<TranscriptionRequest> requests;

 private:
  TimerQueue& delivery_;
  std::mutex mu_;
  std::vector<std::shared_ptr<Done>> done_;
};

// One fake pool of each kind: "fake-audio" transcribes and chats with audio,
// "fake-text" chats.
class FakeRouting final : public Routing {
 public:
  FakeRouting()
      : chat_(delivery_), audio_chat_(delivery_), transcription_(delivery_) {}

  absl::StatusOr<TranscriptionBackend*> ForTranscription(
      const std::string&) const override {
    return &transcription_;
  }
  absl::StatusOr<ChatBackend*> ForChat(const std::string&) const override {
    return &chat_;
  }
  absl::StatusOr<ChatBackend*> ForAudioChat(const std::string&) const override {
    return &audio_chat_;
  }
  std::string PoolNameFor(const TranscriptionBackend&) const override {
    return "fake-audio";
  }
  std::string PoolNameFor(const ChatBackend& backend) const override {
    return &backend == &chat_ ? "fake-text" : "fake-audio";
  }
  std::string UpstreamModelName(const std::string& model) const override {
    return model;
  }
  std::map<std::string, bool> PoolAvailability() const override {
    return {{"fake-audio", true}, {"fake-text", true}};
  }

  FakeChatBackend& chat() { return chat_; }
  FakeChatBackend& audio_chat() { return audio_chat_; }
  FakeTranscriptionBackend& transcription() { return transcription_; }

 private:
  TimerQueue delivery_;  // first: the backends use it
  mutable FakeChatBackend chat_;
  mutable FakeChatBackend audio_chat_;
  mutable FakeTranscriptionBackend transcription_;
};

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_FAKE_BACKENDS_H_
