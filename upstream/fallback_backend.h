#ifndef VOXGATE_UPSTREAM_FALLBACK_BACKEND_H_
#define VOXGATE_UPSTREAM_FALLBACK_BACKEND_H_

#include <memory>
#include <string>

#include "upstream/backend.h"

namespace voxgate::upstream {

// Whether a pool's failure, after its own retries, is worth sending the request
// to its fallback pool: the pool was down or full (UNAVAILABLE,
// RESOURCE_EXHAUSTED), not the request's fault.
bool WorthFallingBack(const absl::Status& status);

// A pool's backend with its fallback pool (pools[].fallback_pool): a request
// the primary fails with WorthFallingBack, while its deadline has not passed
// (and, streamed, before any delta was delivered), goes to the fallback, once.
// Cancelling cancels whichever is running. Keeps the backend contract: ends
// are never reported on the starting or cancelling thread.
class FallbackChatBackend final : public ChatBackend {
 public:
  FallbackChatBackend(ChatBackend& primary, ChatBackend& fallback)
      : primary_(primary), fallback_(fallback) {}

  std::shared_ptr<Transfer> Complete(ChatRequest request,
                                     const CallOptions& options,
                                     Done done) override;
  std::shared_ptr<Transfer> Stream(
      ChatRequest request, const CallOptions& options,
      std::shared_ptr<ChatStreamObserver> observer) override;
  bool available() const override {
    return primary_.available() || fallback_.available();
  }

 private:
  ChatBackend& primary_;
  ChatBackend& fallback_;
};

class FallbackTranscriptionBackend final : public TranscriptionBackend {
 public:
  FallbackTranscriptionBackend(TranscriptionBackend& primary,
                               TranscriptionBackend& fallback)
      : primary_(primary), fallback_(fallback) {}

  std::unique_ptr<IncrementalTranscriber> StartIncremental() override {
    return primary_.StartIncremental();
  }
  std::shared_ptr<Transfer> Transcribe(TranscriptionRequest request,
                                       const CallOptions& options,
                                       Done done) override;
  bool available() const override {
    return primary_.available() || fallback_.available();
  }
  bool returns_segments() const override { return primary_.returns_segments(); }
  bool returns_words() const override { return primary_.returns_words(); }
  bool translates() const override { return primary_.translates(); }

 private:
  TranscriptionBackend& primary_;
  TranscriptionBackend& fallback_;
};

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_FALLBACK_BACKEND_H_
