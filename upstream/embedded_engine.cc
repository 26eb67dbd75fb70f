#include "upstream/embedded_engine.h"

#include <pocketsphinx.h>

#include <algorithm>
#include <atomic>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/wav_format.h"

namespace voxgate::upstream {
namespace {

constexpr int kFramesPerSecond = 100;  // pocketsphinx's 10 ms frames

struct ConfigDeleter {
  void operator()(cmd_ln_t* config) const { cmd_ln_free_r(config); }
};
struct PsDeleter {
  void operator()(ps_decoder_t* decoder) const { ps_free(decoder); }
};

// pocketsphinx marks silences, fillers and sentence bounds; they are not words.
bool IsWord(absl::string_view word) {
  return !word.empty() && word[0] != '<' && word[0] != '[' && word != "<sil>";
}

// "read(2)" is the second pronunciation of "read".
std::string BaseWord(absl::string_view word) {
  const std::size_t paren = word.find('(');
  return std::string(paren == absl::string_view::npos ? word
                                                      : word.substr(0, paren));
}

class CancelHandle final : public Transfer {
 public:
  void Cancel() override { cancelled.store(true); }
  void Resume() override {}
  std::atomic<bool> cancelled{false};
};

}  // namespace

struct EmbeddedEngine::Decoder {
  std::unique_ptr<cmd_ln_t, ConfigDeleter> config;
  std::unique_ptr<ps_decoder_t, PsDeleter> decoder;
};

absl::StatusOr<std::unique_ptr<EmbeddedEngine>> EmbeddedEngine::Create(
    EmbeddedEngineOptions options, WorkerPool& workers) {
  for (const char* file : {"/en-us", "/en-us.lm.bin", "/cmudict-en-us.dict"}) {
    if (!std::filesystem::exists(options.model_dir + file)) {
      return absl::NotFoundError(
          absl::StrCat("embedded engine: ", options.model_dir, file,
                       " is missing (Debian package pocketsphinx-en-us; "
                       "scripts/setup.sh installs it)"));
    }
  }
  return std::unique_ptr<EmbeddedEngine>(
      new EmbeddedEngine(std::move(options), workers));
}

void EmbeddedEngine::DecoderDeleter::operator()(Decoder* decoder) const {
  delete decoder;
}

EmbeddedEngine::~EmbeddedEngine() = default;

EmbeddedEngine::EmbeddedEngine(EmbeddedEngineOptions options,
                               WorkerPool& workers)
    : options_(std::move(options)), workers_(workers) {
  pool_.max = options_.max_decoders;
  stream_pool_.max = options_.max_stream_decoders;
}

absl::StatusOr<
    std::unique_ptr<EmbeddedEngine::Decoder, EmbeddedEngine::DecoderDeleter>>
EmbeddedEngine::LoadDecoder() const {
  std::unique_ptr<Decoder, DecoderDeleter> decoder(new Decoder());
  const std::string hmm = options_.model_dir + "/en-us";
  const std::string lm = options_.model_dir + "/en-us.lm.bin";
  const std::string dict = options_.model_dir + "/cmudict-en-us.dict";
  decoder->config.reset(cmd_ln_init(
      nullptr, ps_args(), TRUE, "-hmm", hmm.c_str(), "-lm", lm.c_str(), "-dict",
      dict.c_str(), "-logfn", "/dev/null", "-bestpath", "yes", nullptr));
  if (decoder->config == nullptr)
    return absl::InternalError("embedded engine: bad config");
  decoder->decoder.reset(ps_init(decoder->config.get()));
  if (decoder->decoder == nullptr) {
    return absl::InternalError(
        "embedded engine: pocketsphinx could not load its model");
  }
  return decoder;
}

absl::StatusOr<EmbeddedEngine::Decoder*> EmbeddedEngine::TakeDecoder(
    bool for_stream) {
  {
    absl::MutexLock lock(&mu_);
    DecoderPool& pool = for_stream ? stream_pool_ : pool_;
    if (!pool.idle.empty()) {
      Decoder* decoder = pool.idle.back();
      pool.idle.pop_back();
      return decoder;
    }
    if (static_cast<int>(pool.owned.size()) >= pool.max) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "embedded engine: all ", pool.max,
          for_stream ? " stream decoders" : " decoders", " are busy"));
    }
    // Held by this caller while it loads, so the cap holds meanwhile.
    pool.owned.emplace_back(nullptr);
  }
  // Loading a model takes a while; it happens once per decoder, outside the
  // lock.
  absl::StatusOr<std::unique_ptr<Decoder, DecoderDeleter>> loaded =
      LoadDecoder();
  absl::MutexLock lock(&mu_);
  DecoderPool& pool = for_stream ? stream_pool_ : pool_;
  auto slot = std::find(pool.owned.begin(), pool.owned.end(), nullptr);
  if (!loaded.ok()) {
    pool.owned.erase(slot);
    return loaded.status();
  }
  *slot = *std::move(loaded);
  return slot->get();
}

void EmbeddedEngine::ReturnDecoder(Decoder* decoder, bool for_stream) {
  absl::MutexLock lock(&mu_);
  (for_stream ? stream_pool_ : pool_).idle.push_back(decoder);
}

absl::StatusOr<Transcription> EmbeddedEngine::TranscribeNow(
    const std::string& wav, const CallOptions& options,
    const std::atomic<bool>* cancelled) {
  std::optional<Pcm16> pcm = ParseWavPcm16(wav);
  if (!pcm || pcm->sample_rate != 16000 || pcm->channels != 1) {
    return absl::InvalidArgumentError(
        "embedded engine: needs 16 kHz mono 16-bit WAV (keep "
        "preprocessing.target_sample_rate_hertz and target_channel_count at "
        "their "
        "defaults)");
  }
  absl::StatusOr<Decoder*> taken = TakeDecoder();
  if (!taken.ok()) return taken.status();
  Decoder* decoder = *taken;
  ps_decoder_t* ps = decoder->decoder.get();

  absl::Status status;
  ps_start_utt(ps);
  if (cancelled != nullptr && cancelled->load()) {
    status = absl::CancelledError("embedded engine: cancelled by the caller");
  } else if (absl::Now() > options.deadline) {
    status = absl::DeadlineExceededError(
        "embedded engine: deadline passed before decoding");
  } else if (ps_process_raw(ps, pcm->samples.data(), pcm->samples.size(), FALSE,
                            /*full_utt=*/TRUE) < 0) {
    // One call with the whole utterance: pocketsphinx then normalises cepstra
    // over this utterance alone. Fed in blocks it carries the estimate over
    // from the decoder's previous utterance, which made results depend on which
    // stream used the decoder before (and cost up to 5 WER points in
    // tests/accuracy_test.cc).
    status =
        absl::InternalError("embedded engine: pocketsphinx failed to decode");
  }
  ps_end_utt(ps);
  Transcription result;
  if (status.ok()) {
    std::vector<std::string> words;
    logmath_t* logmath = ps_get_logmath(ps);
    for (ps_seg_t* seg = ps_seg_iter(ps); seg != nullptr;
         seg = ps_seg_next(seg)) {
      const char* text = ps_seg_word(seg);
      if (text == nullptr || !IsWord(text)) continue;
      int start_frame = 0, end_frame = 0;
      ps_seg_frames(seg, &start_frame, &end_frame);
      int32 acoustic, language, backoff;
      const int32 posterior = ps_seg_prob(seg, &acoustic, &language, &backoff);
      Word word;
      word.word = BaseWord(text);
      word.start_seconds = static_cast<double>(start_frame) / kFramesPerSecond;
      word.end_seconds = static_cast<double>(end_frame + 1) / kFramesPerSecond;
      word.confidence = static_cast<float>(logmath_exp(logmath, posterior));
      words.push_back(word.word);
      result.words.push_back(std::move(word));
    }
    result.text = absl::StrJoin(words, " ");
    result.language = "en-US";
    result.duration_seconds = static_cast<double>(pcm->samples.size()) / 16000;
    result.usage.audio_seconds = result.duration_seconds;
    result.model = "pocketsphinx-en-us";
  }
  ReturnDecoder(decoder);
  if (!status.ok()) return status;
  return result;
}

std::shared_ptr<Transfer> EmbeddedEngine::Transcribe(
    TranscriptionRequest request, const CallOptions& options, Done done) {
  auto handle = std::make_shared<CancelHandle>();
  auto shared_done = std::make_shared<Done>(std::move(done));
  absl::Status queued = workers_.TrySubmit(
      [this, handle, shared_done, options, audio = std::move(request.audio)] {
        (*shared_done)(TranscribeNow(audio, options, &handle->cancelled));
      });
  if (!queued.ok()) {
    // Reported from a worker, as every answer is: never on the thread that
    // asked (the real-time lane refuses only when shutting down).
    absl::Status reported = workers_.SubmitRealTime(
        [shared_done, queued] { (*shared_done)(queued); });
    if (!reported.ok()) (*shared_done)(queued);
  }
  return handle;
}

// One stream's interim decoding. It holds a stream decoder from its first
// partial until it is destroyed, in an utterance started for the utterance in
// progress, and feeds it only the audio added since the last partial, so a
// long utterance costs one decode in all rather than one per interim. With no
// stream decoder free it re-decodes the audio so far (what model servers get).
// The state lives in a shared block: a job may still run when the stream ends.
class EmbeddedEngine::Incremental final : public IncrementalTranscriber {
 public:
  explicit Incremental(EmbeddedEngine* engine)
      : state_(std::make_shared<State>(engine)) {}
  ~Incremental() override {
    absl::MutexLock lock(&state_->mu);
    state_->closed = true;
    if (!state_->busy) state_->Release();
  }

  std::shared_ptr<Transfer> Partial(int utterance, std::vector<float> audio,
                                    Done done) override {
    auto handle = std::make_shared<CancelHandle>();
    auto shared_done = std::make_shared<Done>(std::move(done));
    // Real-time work: a full batch queue must not starve a stream's interims.
    absl::Status queued = state_->engine->workers_.SubmitRealTime(
        [state = state_, handle, shared_done, utterance,
         audio = std::move(audio)] {
          if (handle->cancelled.load()) {
            (*shared_done)(absl::CancelledError("interim result cancelled"));
            return;
          }
          (*shared_done)(state->Decode(utterance, audio));
        });
    if (!queued.ok()) (*shared_done)(queued);
    return handle;
  }

 private:
  struct State {
    explicit State(EmbeddedEngine* engine) : engine(engine) {}

    absl::StatusOr<Transcription> Decode(int utterance,
                                         const std::vector<float>& audio) {
      absl::MutexLock lock(&mu);
      busy = true;
      absl::StatusOr<Transcription> result = DecodeLocked(utterance, audio);
      busy = false;
      if (closed) Release();
      return result;
    }

    absl::StatusOr<Transcription> DecodeLocked(int utterance,
                                               const std::vector<float>& audio)
        ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      if (decoder == nullptr) {
        // No stream decoder free: this interim is skipped (interims are best
        // effort). Re-decoding the utterance so far here instead would run
        // whole decodes in the real-time lane and hold back final results.
        absl::StatusOr<Decoder*> taken =
            engine->TakeDecoder(/*for_stream=*/true);
        if (!taken.ok()) return taken.status();
        decoder = *taken;
      }
      ps_decoder_t* ps = decoder->decoder.get();
      if (utterance != current || !in_utterance) {
        if (in_utterance) ps_end_utt(ps);
        ps_start_utt(ps);
        in_utterance = true;
        current = utterance;
        fed = 0;
      }
      const std::size_t from = std::min(fed, audio.size());
      std::vector<int16_t> samples(audio.size() - from);
      for (std::size_t i = from; i < audio.size(); ++i) {
        samples[i - from] =
            static_cast<int16_t>(std::clamp(audio[i], -1.0f, 1.0f) * 32767.0f);
      }
      if (!samples.empty() &&
          ps_process_raw(ps, samples.data(), samples.size(), FALSE,
                         /*full_utt=*/FALSE) < 0) {
        return absl::InternalError(
            "embedded engine: pocketsphinx failed to decode");
      }
      fed = audio.size();
      int32 score = 0;
      const char* hypothesis = ps_get_hyp(ps, &score);
      Transcription result;
      result.text = hypothesis != nullptr ? hypothesis : "";
      result.language = "en-US";
      // The audio this call decoded: the new part only.
      result.duration_seconds = static_cast<double>(samples.size()) / 16000;
      result.model = "pocketsphinx-en-us";
      return result;
    }

    void Release() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      if (decoder == nullptr) return;
      if (in_utterance) ps_end_utt(decoder->decoder.get());
      in_utterance = false;
      engine->ReturnDecoder(decoder, /*for_stream=*/true);
      decoder = nullptr;
    }

    EmbeddedEngine* const engine;
    absl::Mutex mu;
    Decoder* decoder ABSL_GUARDED_BY(mu) = nullptr;
    bool in_utterance ABSL_GUARDED_BY(mu) = false;
    int current ABSL_GUARDED_BY(mu) = -1;
    std::size_t fed ABSL_GUARDED_BY(mu) = 0;
    bool busy ABSL_GUARDED_BY(mu) = false;
    bool closed ABSL_GUARDED_BY(mu) = false;
  };
  std::shared_ptr<State> state_;
};

std::unique_ptr<IncrementalTranscriber> EmbeddedEngine::StartIncremental() {
  return std::make_unique<Incremental>(this);
}

}  // namespace voxgate::upstream
