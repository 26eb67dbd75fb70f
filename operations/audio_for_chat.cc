#include "operations/audio_for_chat.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "audio/decoder.h"
#include "audio/loudness.h"
#include "audio/preprocess.h"
#include "audio/wav.h"
#include "common/proto_duration.h"
#include "common/status_macros.h"
#include "operations/api_mapping.h"

namespace voxgate::operations {
namespace {

// A chat audio part goes upstream whole: it is held to a chat's length.
void LimitToChat(const Config& config, audio::DecodeOptions& decode) {
  decode.max_duration = std::min(
      decode.max_duration, ToAbsl(config.audio().max_chat_audio_duration()));
  decode.max_duration_name = "audio.max_chat_audio_duration";
}

// What a conversion holds of the decoded-audio budget, given back when it
// goes.
class Reservation {
 public:
  Reservation(ByteBudget* budget, absl::string_view field)
      : budget_(budget), field_(field) {}
  ~Reservation() {
    if (budget_ != nullptr) budget_->Give(held_);
  }
  // Grows what is held to `bytes`; RESOURCE_EXHAUSTED naming the limit when
  // the budget has no room.
  absl::Status HoldAtLeast(int64_t bytes) {
    if (budget_ == nullptr || bytes <= held_) return absl::OkStatus();
    if (!budget_->TryTake(bytes - held_)) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the gateway holds audio.max_decoded_bytes (", budget_->limit(),
          " bytes) of decoded audio for other calls; ", field_, " needed ",
          bytes, " bytes; retry shortly"));
    }
    held_ = bytes;
    return absl::OkStatus();
  }

 private:
  ByteBudget* const budget_;
  const std::string field_;
  int64_t held_ = 0;
};

// Decodes, normalises and encodes one part, holding of `budget` what its
// float PCM and its WAV take as they grow.
absl::StatusOr<std::pair<std::string, double>> Convert(
    absl::string_view content, const audio::PreprocessOptions& options,
    ByteBudget* budget, absl::string_view field) {
  Reservation reservation(budget, field);
  absl::StatusOr<std::unique_ptr<audio::FileDecoder>> decoder =
      audio::FileDecoder::OpenMemory(content, options.decode);
  if (!decoder.ok()) return decoder.status();
  audio::PcmAudio pcm;
  pcm.sample_rate = options.decode.target_sample_rate;
  pcm.channels = options.decode.target_channels;
  const std::size_t step =
      static_cast<std::size_t>(pcm.sample_rate) * std::max(1, pcm.channels);
  while (true) {
    // About a second a step, into room held before it is allocated (while
    // the vector moves, old and new buffers both count).
    if (pcm.samples.size() + 2 * step > pcm.samples.capacity()) {
      const std::size_t old_capacity = pcm.samples.capacity();
      const std::size_t capacity =
          std::max(2 * old_capacity, pcm.samples.size() + 2 * step);
      RETURN_IF_ERROR(reservation.HoldAtLeast(
          static_cast<int64_t>((capacity + old_capacity) * sizeof(float))));
      pcm.samples.reserve(capacity);
    }
    absl::StatusOr<bool> more = (*decoder)->Next(step, pcm.samples);
    if (!more.ok()) return more.status();
    if (!*more) break;
  }
  decoder->reset();
  if (options.normalize_loudness) {
    // Fails only when libebur128 cannot allocate; the audio then goes as is.
    (void)audio::NormalizeLoudness(pcm, options.loudness);
  }
  RETURN_IF_ERROR(reservation.HoldAtLeast(
      static_cast<int64_t>(pcm.samples.capacity() * sizeof(float) +
                           pcm.samples.size() * sizeof(int16_t) + 44)));
  return std::make_pair(audio::EncodeWav(pcm), pcm.duration_seconds());
}

}  // namespace

absl::Status ConvertAudioForChat(
    const v1::AudioInput& audio, const Config& config, absl::string_view field,
    absl::Time deadline, const Clock& clock, WorkerPool& workers,
    ByteBudget* budget,
    std::function<void(absl::StatusOr<std::pair<std::string, double>>)> done) {
  absl::StatusOr<audio::DecodeOptions> decode =
      DecodeOptionsFor(audio, config, field);
  if (!decode.ok()) return decode.status();
  audio::PreprocessOptions options;
  options.decode = *decode;
  LimitToChat(config, options.decode);
  options.normalize_loudness = config.audio().normalize_loudness();
  options.loudness.target_lufs = config.audio().target_loudness_lufs();
  return workers.TrySubmit([content = audio.content(), options, deadline,
                            &clock, budget, field = std::string(field),
                            done = std::move(done)]() mutable {
    options.decode.max_wall_time =
        std::min(options.decode.max_wall_time, deadline - clock.Now());
    done(Convert(content, options, budget, field));
  });
}

std::vector<std::pair<int, int>> AudioParts(const upstream::ChatRequest& chat) {
  std::vector<std::pair<int, int>> parts;
  for (std::size_t m = 0; m < chat.messages.size(); ++m) {
    const std::vector<upstream::ChatPart>& message = chat.messages[m].parts;
    for (std::size_t p = 0; p < message.size(); ++p) {
      if (message[p].kind == upstream::ChatPart::Kind::kAudio) {
        parts.emplace_back(static_cast<int>(m), static_cast<int>(p));
      }
    }
  }
  return parts;
}

absl::Status MeasureChatAudio(
    upstream::ChatRequest chat, std::vector<std::pair<int, int>> known,
    const Config& config, absl::Time deadline, const Clock& clock,
    WorkerPool& workers,
    std::function<void(absl::StatusOr<MeasuredChat>)> done) {
  audio::DecodeOptions decode;
  decode.max_input_bytes = config.audio().max_audio_bytes();
  decode.max_duration = ToAbsl(config.audio().max_audio_duration());
  LimitToChat(config, decode);
  // Counting needs no resolution: 8 kHz mono decodes fastest.
  decode.target_sample_rate = 8000;
  return workers.TrySubmit([chat = std::move(chat), known = std::move(known),
                            decode, deadline, &clock,
                            done = std::move(done)]() mutable {
    MeasuredChat measured;
    int ordinal = 0;
    for (const auto& [m, p] : AudioParts(chat)) {
      ++ordinal;
      if (std::find(known.begin(), known.end(), std::make_pair(m, p)) !=
          known.end()) {
        continue;
      }
      const upstream::ChatPart& part = chat.messages[m].parts[p];
      decode.max_wall_time =
          std::min(decode.max_wall_time, deadline - clock.Now());
      absl::StatusOr<double> seconds =
          audio::MeasureAudioSeconds(part.audio, decode);
      if (!seconds.ok()) {
        return done(
            absl::Status(seconds.status().code(),
                         absl::StrCat("audio part ", ordinal,
                                      " of the messages (", part.audio_format,
                                      "): ", seconds.status().message())));
      }
      measured.audio_seconds += *seconds;
    }
    measured.chat = std::move(chat);
    done(std::move(measured));
  });
}

}  // namespace voxgate::operations
