#ifndef VOXGATE_AUDIO_PREPROCESS_H_
#define VOXGATE_AUDIO_PREPROCESS_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "audio/decoder.h"
#include "audio/loudness.h"

namespace voxgate::audio {

struct PreprocessOptions {
  DecodeOptions decode;
  bool normalize_loudness = true;
  NormalizeOptions loudness;
};

struct PreprocessedAudio {
  PcmAudio pcm;
  SourceInfo source;
  // Loudness before normalisation and the gain applied (0 when off).
  LoudnessMeasurement loudness;
  double gain_db = 0;
};

// Whole-file preprocessing: decode from memory, resample and downmix, then
// normalise loudness. Errors as DecodeAudio. CPU heavy: run it on a WorkerPool.
absl::StatusOr<PreprocessedAudio> Preprocess(absl::string_view bytes,
                                             const PreprocessOptions& options);

}  // namespace voxgate::audio

#endif  // VOXGATE_AUDIO_PREPROCESS_H_
