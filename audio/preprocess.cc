#include "audio/preprocess.h"

namespace voxgate::audio {

absl::StatusOr<PreprocessedAudio> Preprocess(absl::string_view bytes,
                                             const PreprocessOptions& options) {
  absl::StatusOr<DecodedAudio> decoded = DecodeAudio(bytes, options.decode);
  if (!decoded.ok()) return decoded.status();
  PreprocessedAudio result;
  result.pcm = std::move(decoded->pcm);
  result.source = std::move(decoded->source);
  if (options.normalize_loudness) {
    absl::StatusOr<NormalizeResult> normalized =
        NormalizeLoudness(result.pcm, options.loudness);
    if (!normalized.ok()) return normalized.status();
    result.loudness = normalized->before;
    result.gain_db = normalized->gain_db;
  }
  return result;
}

}  // namespace voxgate::audio
