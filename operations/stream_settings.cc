#include "operations/stream_settings.h"

#include "absl/strings/str_cat.h"
#include "common/proto_duration.h"
#include "operations/field_checks.h"

namespace voxgate::operations {

absl::StatusOr<StreamSettings> StreamSettingsFor(
    const v1::StreamTranscribeConfig& stream, const Config& config) {
  constexpr int kRate = 16000;
  StreamSettings settings;
  const v1::AudioFormat& format = stream.format();
  settings.sample_rate = format.sample_rate_hertz();
  settings.channels = format.channel_count();
  using Container = audio::StreamContainer;
  auto container = [&settings](Container kind) {
    settings.input = StreamSettings::Input::kContainer;
    settings.container = kind;
  };
  switch (format.encoding()) {
    case v1::AUDIO_ENCODING_LINEAR16:
      break;
    case v1::AUDIO_ENCODING_MULAW:
      settings.raw_encoding = audio::RawEncoding::kMulaw;
      break;
    case v1::AUDIO_ENCODING_ALAW:
      settings.raw_encoding = audio::RawEncoding::kAlaw;
      break;
    case v1::AUDIO_ENCODING_WAV:
      settings.input = StreamSettings::Input::kWav;
      break;
    case v1::AUDIO_ENCODING_UNSPECIFIED:
    case v1::AUDIO_ENCODING_AUTO:
      container(Container::kAny);
      break;
    case v1::AUDIO_ENCODING_OGG_OPUS:
      container(Container::kOggOpus);
      break;
    case v1::AUDIO_ENCODING_WEBM_OPUS:
      container(Container::kWebmOpus);
      break;
    case v1::AUDIO_ENCODING_OGG_VORBIS:
      container(Container::kOggVorbis);
      break;
    case v1::AUDIO_ENCODING_MP3:
      container(Container::kMp3);
      break;
    case v1::AUDIO_ENCODING_FLAC:
      container(Container::kFlac);
      break;
    default:
      // M4A keeps its index at the end: it cannot be decoded as it arrives.
      return FieldError(
          "config.format.encoding",
          absl::StrCat(v1::AudioEncoding_Name(format.encoding()),
                       " cannot be streamed; send LINEAR16, MULAW, ALAW, WAV, "
                       "OGG_OPUS, WEBM_OPUS, OGG_VORBIS, MP3 or FLAC"));
  }
  if (stream.has_interim_interval()) {
    const absl::Duration interval = ToAbsl(stream.interim_interval());
    if (interval < absl::Milliseconds(200) || interval > absl::Seconds(10))
      return FieldError("config.interim_interval", "200ms to 10s");
    settings.interim_interval_frames =
        absl::ToInt64Milliseconds(interval) * kRate / 1000;
  }
  audio::EndpointerOptions& options = settings.endpointing;
  const v1::EndpointingConfig& endpointing = stream.endpointing();
  if (endpointing.has_trailing_silence())
    options.trailing_silence = ToAbsl(endpointing.trailing_silence());
  if (endpointing.has_max_utterance())
    options.max_utterance = ToAbsl(endpointing.max_utterance());
  if (endpointing.has_speech_start_timeout())
    options.speech_start_timeout = ToAbsl(endpointing.speech_start_timeout());
  if (options.trailing_silence < absl::Milliseconds(100) ||
      options.trailing_silence > absl::Seconds(5)) {
    return FieldError("config.endpointing.trailing_silence", "100ms to 5s");
  }
  if (options.max_utterance < absl::Seconds(1) ||
      options.max_utterance > absl::Seconds(120)) {
    return FieldError("config.endpointing.max_utterance", "1s to 120s");
  }
  settings.max_stream_frames =
      absl::ToInt64Seconds(ToAbsl(config.limits().max_stream_duration())) *
      kRate;
  return settings;
}

}  // namespace voxgate::operations
