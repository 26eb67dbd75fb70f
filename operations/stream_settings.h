#ifndef VOXGATE_OPERATIONS_STREAM_SETTINGS_H_
#define VOXGATE_OPERATIONS_STREAM_SETTINGS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "audio/container_stream_decoder.h"
#include "audio/endpointer.h"
#include "audio/stream_resampler.h"
#include "config/config.h"
#include "voxgate/v1/stream.pb.h"

namespace voxgate::operations {

// How a StreamTranscribe stream's audio arrives and is cut, from its config.
struct StreamSettings {
  enum class Input { kRaw, kWav, kContainer };
  Input input = Input::kRaw;
  // kRaw: the samples' encoding, rate and channels.
  audio::RawEncoding raw_encoding = audio::RawEncoding::kS16le;
  int sample_rate = 0;
  int channels = 0;
  // kContainer: which container (or any, sniffed).
  audio::StreamContainer container = audio::StreamContainer::kAny;
  audio::EndpointerOptions endpointing;
  // 16 kHz frames between interim results, and in the whole stream at most.
  int64_t interim_interval_frames = 16000;
  int64_t max_stream_frames = 0;
};

// Checks a stream's config (INVALID_ARGUMENT naming the field) and returns its
// settings.
absl::StatusOr<StreamSettings> StreamSettingsFor(
    const v1::StreamTranscribeConfig& stream, const Config& config);

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_STREAM_SETTINGS_H_
