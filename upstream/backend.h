#ifndef VOXGATE_UPSTREAM_BACKEND_H_
#define VOXGATE_UPSTREAM_BACKEND_H_

// What the rest of the gateway sees of a model server pool or the embedded
// engine. Consumers depend on these interfaces only; tests hand them fakes.
//
// The contract every backend keeps, so that calls may start and cancel work
// while holding their own locks: a `done` or observer never runs on the
// thread inside the call that started the work, nor inside Transfer::Cancel.
// Ends that happen there (a refusal at once, a cancelled wait) are reported
// from another thread (the timer thread, a worker, the HTTP loop).

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "upstream/transfer.h"
#include "upstream/types.h"

namespace voxgate::upstream {

// Turns audio into text.
// Interim hypotheses of one stream's utterance in progress, from an engine
// that decodes audio as it arrives. Each call gets the utterance's audio so far
// (16 kHz mono) and decodes only what was added since the previous call of the
// same utterance; a new utterance index starts afresh. One stream's calls come
// one at a time.
class IncrementalTranscriber {
 public:
  virtual ~IncrementalTranscriber() = default;
  using Done = std::function<void(absl::StatusOr<Transcription>)>;
  // `done` runs exactly once on a worker thread; the handle cancels a call not
  // yet started.
  virtual std::shared_ptr<Transfer> Partial(int utterance,
                                            std::vector<float> audio,
                                            Done done) = 0;
};

class TranscriptionBackend {
 public:
  virtual ~TranscriptionBackend() = default;
  using Done = std::function<void(absl::StatusOr<Transcription>)>;

  // For engines that decode incrementally (the embedded one): a transcriber
  // for one stream's interim results. Null when the backend takes whole
  // files only (model servers): interims then re-send the utterance so far.
  virtual std::unique_ptr<IncrementalTranscriber> StartIncremental() {
    return nullptr;
  }

  // Starts a transcription; `done` runs exactly once on an upstream thread and
  // must return quickly. The handle cancels it (done then gets CANCELLED).
  virtual std::shared_ptr<Transfer> Transcribe(TranscriptionRequest request,
                                               const CallOptions& options,
                                               Done done) = 0;
  // Whether it can serve now (some endpoint is up).
  virtual bool available() const = 0;
  // Whether segments and word timings come back when asked.
  virtual bool returns_segments() const = 0;
  virtual bool returns_words() const = 0;
  // Whether TASK_TRANSLATE is honoured (the embedded engine only transcribes).
  virtual bool translates() const { return true; }
};

// Receives a streamed chat reply.
class ChatStreamObserver {
 public:
  virtual ~ChatStreamObserver() = default;
  // A delta, in order. Return false to pause the upstream transfer until
  // Transfer::Resume(); the rest of the network chunk at hand may still arrive.
  virtual bool OnDelta(const ChatDelta& delta) = 0;
  // Exactly once, last: OK after the final delta, or the error.
  virtual void OnDone(absl::Status status) = 0;
};

// Chat completions, whole or streamed.
class ChatBackend {
 public:
  virtual ~ChatBackend() = default;
  using Done = std::function<void(absl::StatusOr<ChatCompletion>)>;

  virtual std::shared_ptr<Transfer> Complete(ChatRequest request,
                                             const CallOptions& options,
                                             Done done) = 0;
  virtual std::shared_ptr<Transfer> Stream(
      ChatRequest request, const CallOptions& options,
      std::shared_ptr<ChatStreamObserver> observer) = 0;
  virtual bool available() const = 0;
};

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_BACKEND_H_
