#ifndef VOXGATE_UPSTREAM_EMBEDDED_ENGINE_H_
#define VOXGATE_UPSTREAM_EMBEDDED_ENGINE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/worker_pool.h"
#include "upstream/backend.h"

namespace voxgate::upstream {

struct EmbeddedEngineOptions {
  // pocketsphinx-en-us: acoustic model, language model and dictionary.
  std::string model_dir = "/usr/share/pocketsphinx/model/en-us";
  // Decoders at most (one per worker thread; each holds its own model copy).
  int max_decoders = 2;
  // Decoders for streams' interim results at most, apart from the above: a
  // stream with interim results holds one from its first interim to its end.
  // Streams beyond it get final results only.
  int max_stream_decoders = 2;
};

// The offline recogniser: pocketsphinx 0.8 with its US English model, in
// process. Decoders are created on first use and reused, one per concurrent
// job, never shared across threads. Work runs on the shared audio worker pool
// (its full queue answers RESOURCE_EXHAUSTED). Each chunk is decoded in one
// call, so results do not depend on the decoder's previous utterance;
// cancellation and the deadline are checked before it starts. Input: 16 kHz
// mono 16-bit WAV. Thread-safe.
class EmbeddedEngine final : public TranscriptionBackend {
 public:
  // NOT_FOUND naming the path when the model files are missing.
  static absl::StatusOr<std::unique_ptr<EmbeddedEngine>> Create(
      EmbeddedEngineOptions options, WorkerPool& workers);
  ~EmbeddedEngine() override;

  std::shared_ptr<Transfer> Transcribe(TranscriptionRequest request,
                                       const CallOptions& options,
                                       Done done) override;
  bool available() const override { return true; }
  bool returns_segments() const override { return false; }
  bool returns_words() const override { return true; }
  bool translates() const override { return false; }
  // Interim results decoded as the audio arrives (see IncrementalTranscriber);
  // final results are still decoded whole, for accuracy.
  std::unique_ptr<IncrementalTranscriber> StartIncremental() override;

  // Transcribes on the calling thread (tests, benchmarks).
  absl::StatusOr<Transcription> TranscribeNow(
      const std::string& wav, const CallOptions& options,
      const std::atomic<bool>* cancelled = nullptr);

  struct Decoder;
  // Defined where Decoder is complete, so this header needs no pocketsphinx.
  struct DecoderDeleter {
    void operator()(Decoder* decoder) const;
  };

 private:
  EmbeddedEngine(EmbeddedEngineOptions options, WorkerPool& workers);
  class Incremental;
  // Decoders made on demand up to a cap, reused, never used by two threads at
  // once.
  struct DecoderPool {
    int max = 0;
    std::vector<std::unique_ptr<Decoder, DecoderDeleter>> owned;
    std::vector<Decoder*> idle;
  };
  absl::StatusOr<Decoder*> TakeDecoder(bool for_stream = false);
  void ReturnDecoder(Decoder* decoder, bool for_stream = false);
  absl::StatusOr<std::unique_ptr<Decoder, DecoderDeleter>> LoadDecoder() const;

  const EmbeddedEngineOptions options_;
  WorkerPool& workers_;
  absl::Mutex mu_;
  DecoderPool pool_ ABSL_GUARDED_BY(mu_);
  DecoderPool stream_pool_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_EMBEDDED_ENGINE_H_
