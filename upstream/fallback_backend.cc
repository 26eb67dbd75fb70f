#include "upstream/fallback_backend.h"

#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace voxgate::upstream {
namespace {

// The transfer of whichever attempt runs: the primary's, then perhaps the
// fallback's. A cancel reaches the current one, and stops a switch that has
// not happened yet.
class SwitchingTransfer final : public Transfer {
 public:
  void Cancel() override {
    std::shared_ptr<Transfer> current;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      current = current_;
    }
    if (current != nullptr) current->Cancel();
  }
  void Resume() override {
    std::shared_ptr<Transfer> current;
    {
      absl::MutexLock lock(&mu_);
      current = current_;
    }
    if (current != nullptr) current->Resume();
  }
  // The primary's transfer, unless its end already switched to the fallback
  // (its done may run on another thread before Start returns).
  void Start(std::shared_ptr<Transfer> first) { Take(std::move(first), true); }
  // The fallback's transfer.
  void Switch(std::shared_ptr<Transfer> next) { Take(std::move(next), false); }
  bool cancelled() const {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }

 private:
  // Makes `next` current (a first transfer only if nothing switched yet);
  // cancels it at once when a cancel came first.
  void Take(std::shared_ptr<Transfer> next, bool first) {
    bool cancelled;
    {
      absl::MutexLock lock(&mu_);
      if (first && switched_) return;
      switched_ = !first;
      current_ = next;
      cancelled = cancelled_;
    }
    if (cancelled && next != nullptr) next->Cancel();
  }

  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool switched_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<Transfer> current_ ABSL_GUARDED_BY(mu_);
};

// Callbacks hold the transfer weakly: it holds the running attempt, which
// holds them (a cycle otherwise). Gone, nobody can cancel any more.
using WeakTransfer = std::weak_ptr<SwitchingTransfer>;

bool MayFallBack(const absl::Status& status, const CallOptions& options,
                 const WeakTransfer& weak) {
  std::shared_ptr<SwitchingTransfer> transfer = weak.lock();
  return WorthFallingBack(status) && absl::Now() < options.deadline &&
         (transfer == nullptr || !transfer->cancelled());
}

void SwitchTo(const WeakTransfer& weak, std::shared_ptr<Transfer> next) {
  if (std::shared_ptr<SwitchingTransfer> transfer = weak.lock()) {
    transfer->Switch(std::move(next));
  }
}

// Passes a stream's events on, unless it fails before its first delta in a
// way worth falling back on: then the fallback streams to the same observer.
class FallbackObserver final : public ChatStreamObserver {
 public:
  FallbackObserver(ChatBackend& fallback, ChatRequest request,
                   CallOptions options, std::shared_ptr<ChatStreamObserver> out,
                   WeakTransfer transfer)
      : fallback_(fallback),
        request_(std::move(request)),
        options_(std::move(options)),
        out_(std::move(out)),
        transfer_(std::move(transfer)) {}

  bool OnDelta(const ChatDelta& delta) override {
    delivered_ = true;  // deltas and OnDone come one at a time
    return out_->OnDelta(delta);
  }
  void OnDone(absl::Status status) override {
    if (!status.ok() && !delivered_ &&
        MayFallBack(status, options_, transfer_)) {
      SwitchTo(transfer_,
               fallback_.Stream(std::move(request_), options_, out_));
      return;
    }
    out_->OnDone(std::move(status));
  }

 private:
  ChatBackend& fallback_;
  ChatRequest request_;
  const CallOptions options_;
  const std::shared_ptr<ChatStreamObserver> out_;
  const WeakTransfer transfer_;
  bool delivered_ = false;
};

}  // namespace

bool WorthFallingBack(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kResourceExhausted;
}

std::shared_ptr<Transfer> FallbackChatBackend::Complete(
    ChatRequest request, const CallOptions& options, Done done) {
  auto transfer = std::make_shared<SwitchingTransfer>();
  ChatRequest copy = request;
  transfer->Start(primary_.Complete(
      std::move(copy), options,
      [this, request = std::move(request), options,
       weak = WeakTransfer(transfer),
       done](absl::StatusOr<ChatCompletion> completion) mutable {
        if (!completion.ok() &&
            MayFallBack(completion.status(), options, weak)) {
          SwitchTo(weak, fallback_.Complete(std::move(request), options, done));
          return;
        }
        done(std::move(completion));
      }));
  return transfer;
}

std::shared_ptr<Transfer> FallbackChatBackend::Stream(
    ChatRequest request, const CallOptions& options,
    std::shared_ptr<ChatStreamObserver> observer) {
  auto transfer = std::make_shared<SwitchingTransfer>();
  ChatRequest copy = request;
  transfer->Start(primary_.Stream(
      std::move(copy), options,
      std::make_shared<FallbackObserver>(fallback_, std::move(request), options,
                                         std::move(observer),
                                         WeakTransfer(transfer))));
  return transfer;
}

std::shared_ptr<Transfer> FallbackTranscriptionBackend::Transcribe(
    TranscriptionRequest request, const CallOptions& options, Done done) {
  auto transfer = std::make_shared<SwitchingTransfer>();
  TranscriptionRequest copy = request;
  transfer->Start(primary_.Transcribe(
      std::move(copy), options,
      [this, request = std::move(request), options,
       weak = WeakTransfer(transfer),
       done](absl::StatusOr<Transcription> result) mutable {
        if (!result.ok() && MayFallBack(result.status(), options, weak)) {
          SwitchTo(weak,
                   fallback_.Transcribe(std::move(request), options, done));
          return;
        }
        done(std::move(result));
      }));
  return transfer;
}

}  // namespace voxgate::upstream
