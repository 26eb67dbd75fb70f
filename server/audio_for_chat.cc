#include "server/audio_for_chat.h"

#include "absl/time/clock.h"
#include "audio/preprocess.h"
#include "audio/wav.h"
#include "server/api_mapping.h"

namespace voxgate::server {

absl::Status ConvertAudioForChat(
    const v1::AudioInput& audio, const Config& config, absl::string_view field,
    absl::Time deadline, WorkerPool& workers,
    std::function<void(absl::StatusOr<std::pair<std::string, double>>)> done) {
  absl::StatusOr<audio::DecodeOptions> decode =
      DecodeOptionsFor(audio, config, field);
  if (!decode.ok()) return decode.status();
  audio::PreprocessOptions options;
  options.decode = *decode;
  options.normalize_loudness = config.audio().normalize_loudness();
  options.loudness.target_lufs = config.audio().target_loudness_lufs();
  return workers.TrySubmit([content = audio.content(), options, deadline,
                            done = std::move(done)]() mutable {
    options.decode.max_wall_time =
        std::min(options.decode.max_wall_time, deadline - absl::Now());
    absl::StatusOr<audio::PreprocessedAudio> processed =
        audio::Preprocess(content, options);
    if (!processed.ok()) return done(processed.status());
    done(std::make_pair(audio::EncodeWav(processed->pcm),
                        processed->pcm.duration_seconds()));
  });
}

}  // namespace voxgate::server
