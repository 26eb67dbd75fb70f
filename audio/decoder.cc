#include "audio/decoder.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "audio/ffmpeg_handles.h"
#include "audio/ffmpeg_policy.h"
#include "audio/frame_resampler.h"

extern "C" {
#include <libavutil/log.h>
#include <libavutil/opt.h>
}

namespace voxgate::audio {
namespace {

using internal::AvError;
using internal::FrameResampler;

absl::Status Invalid(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("audio: ", message));
}

struct MemoryReader {
  const uint8_t* data;
  int64_t size;
  int64_t position = 0;
  absl::Time deadline;
};

int ReadPacket(void* opaque, uint8_t* buffer, int size) {
  auto* reader = static_cast<MemoryReader*>(opaque);
  const int64_t left = reader->size - reader->position;
  if (left <= 0) return AVERROR_EOF;  // never 0: FFmpeg wants a proper error
  const int n = static_cast<int>(std::min<int64_t>(size, left));
  std::memcpy(buffer, reader->data + reader->position, n);
  reader->position += n;
  return n;
}

int64_t Seek(void* opaque, int64_t offset, int whence) {
  auto* reader = static_cast<MemoryReader*>(opaque);
  whence &= ~AVSEEK_FORCE;
  if (whence == AVSEEK_SIZE)
    return reader->size;  // MP4 with moov at the end needs it
  int64_t target;
  switch (whence) {
    case SEEK_SET:
      target = offset;
      break;
    case SEEK_CUR:
      target = reader->position + offset;
      break;
    case SEEK_END:
      target = reader->size + offset;
      break;
    default:
      return AVERROR(EINVAL);
  }
  if (target < 0 || target > reader->size) return AVERROR(EINVAL);
  reader->position = target;
  return target;
}

int Interrupted(void* opaque) {
  return absl::Now() > static_cast<MemoryReader*>(opaque)->deadline ? 1 : 0;
}

const char* RawDemuxer(InputFormat format) {
  switch (format) {
    case InputFormat::kS16le:
      return "s16le";
    case InputFormat::kMulaw:
      return "mulaw";
    case InputFormat::kAlaw:
      return "alaw";
    default:
      return nullptr;
  }
}

std::atomic<const Logger*> ffmpeg_logger{nullptr};

void LogFromFfmpeg(void* context, int level, const char* format, va_list args) {
  const Logger* logger = ffmpeg_logger.load();
  if (logger == nullptr || level > AV_LOG_WARNING) return;
  char line[1024];
  int print_prefix = 1;
  av_log_format_line2(context, level, format, args, line, sizeof(line),
                      &print_prefix);
  logger->Log(
      level <= AV_LOG_ERROR ? LogLevel::kError : LogLevel::kWarning, "ffmpeg",
      {{"detail", std::string(absl::StripTrailingAsciiWhitespace(line))}});
}

// The length the container states for the stream (or the whole file), or
// zero when it states none.
absl::Duration DeclaredDuration(const AVFormatContext& format, int stream) {
  const AVStream* audio = format.streams[stream];
  if (audio->duration > 0 && audio->time_base.den > 0) {
    return absl::Seconds(static_cast<double>(audio->duration) *
                         audio->time_base.num / audio->time_base.den);
  }
  if (format.duration > 0)
    return absl::Microseconds(format.duration);  // AV_TIME_BASE units
  return absl::ZeroDuration();
}

}  // namespace

void RouteFfmpegLogs(const Logger& logger) {
  ffmpeg_logger.store(&logger);
  av_log_set_level(AV_LOG_WARNING);
  av_log_set_callback(&LogFromFfmpeg);
}

absl::StatusOr<DecodedAudio> DecodeAudio(absl::string_view bytes,
                                         const DecodeOptions& options) {
  // Until RouteFfmpegLogs runs, FFmpeg writes nothing to our stderr.
  static const bool quiet_by_default = [] {
    if (ffmpeg_logger.load() == nullptr) av_log_set_level(AV_LOG_QUIET);
    return true;
  }();
  (void)quiet_by_default;

  if (bytes.empty()) return Invalid("content is empty");
  if (static_cast<int64_t>(bytes.size()) > options.max_input_bytes) {
    return Invalid(absl::StrCat("content is ", bytes.size(),
                                " bytes, over max_audio_bytes ",
                                options.max_input_bytes));
  }
  const char* raw = RawDemuxer(options.format);
  if (raw != nullptr &&
      (options.input_sample_rate < 1000 || options.input_sample_rate > 384000 ||
       options.input_channels < 1 || options.input_channels > 16)) {
    return Invalid(
        absl::StrCat("raw ", raw,
                     " audio needs sample_rate_hertz (1000 to 384000) and "
                     "channel_count (1 to 16); got ",
                     options.input_sample_rate, " Hz, ", options.input_channels,
                     " channels"));
  }

  MemoryReader reader{reinterpret_cast<const uint8_t*>(bytes.data()),
                      static_cast<int64_t>(bytes.size()), 0,
                      absl::Now() + options.max_wall_time};
  absl::StatusOr<internal::IoContextPtr> io =
      internal::MakeIoContext(32768, &reader, &ReadPacket, &Seek);
  if (!io.ok()) return io.status();
  AVFormatContext* format = internal::GuardedFormatContext(
      io->get(), &Interrupted, &reader, options.max_streams);
  format->probesize = options.probe_bytes;
  format->max_analyze_duration = 5 * AV_TIME_BASE;

  AVDictionary* demuxer_options = nullptr;
  if (raw != nullptr) {
    AVChannelLayout layout;
    av_channel_layout_default(&layout, options.input_channels);
    char description[64];
    av_channel_layout_describe(&layout, description, sizeof(description));
    av_channel_layout_uninit(&layout);
    av_dict_set_int(&demuxer_options, "sample_rate", options.input_sample_rate,
                    0);
    av_dict_set(&demuxer_options, "ch_layout", description, 0);
  }
  const int opened = avformat_open_input(
      &format, nullptr, raw != nullptr ? av_find_input_format(raw) : nullptr,
      &demuxer_options);
  av_dict_free(&demuxer_options);
  if (opened < 0) {  // avformat_open_input freed the context
    if (absl::Now() > reader.deadline) {
      return Invalid(absl::StrCat("decoding exceeded the wall-time limit ",
                                  absl::FormatDuration(options.max_wall_time)));
    }
    return Invalid(
        absl::StrCat("not a supported audio format (WAV, MP3, FLAC, Ogg "
                     "Vorbis/Opus, WebM/Opus, M4A/AAC, raw PCM): ",
                     AvError(opened)));
  }
  internal::FormatContextPtr format_owner(format);
  absl::StatusOr<internal::AudioStream> found =
      internal::FindAudioStream(format);
  if (!found.ok()) return found.status();
  const int stream_index = found->index;
  // A container that declares its length (Ogg from its last page, WAV, FLAC,
  // M4A) is refused before decoding when that is over the limit: 10 hours of
  // Opus silence fit in 14 MB and take 20 s of CPU to decode. Decoding still
  // stops at the limit for containers that declare nothing, or lie.
  if (const absl::Duration declared = DeclaredDuration(*format, stream_index);
      declared > options.max_duration + absl::Seconds(1)) {
    return Invalid(absl::StrCat(
        "the file declares ",
        absl::FormatDuration(absl::Trunc(declared, absl::Seconds(1))),
        " of audio, over max_audio_duration ",
        absl::FormatDuration(options.max_duration)));
  }
  const AVCodec* codec = found->codec;
  absl::StatusOr<internal::CodecContextPtr> opened_decoder =
      internal::OpenDecoder(format, *found);
  if (!opened_decoder.ok()) return opened_decoder.status();
  internal::CodecContextPtr decoder = *std::move(opened_decoder);

  DecodedAudio result;
  result.source.container = format->iformat->name;
  result.source.codec = codec->name;
  result.source.sample_rate = decoder->sample_rate;
  result.source.channels = decoder->ch_layout.nb_channels;
  result.pcm.sample_rate = options.target_sample_rate;
  result.pcm.channels = options.target_channels;
  std::vector<float>& out = result.pcm.samples;
  const int64_t max_samples =
      static_cast<int64_t>(absl::ToDoubleSeconds(options.max_duration) *
                           options.target_sample_rate) *
      options.target_channels;

  internal::PacketPtr packet(av_packet_alloc());
  internal::FramePtr frame(av_frame_alloc());
  FrameResampler resampler;
  int decode_errors = 0;
  auto drain = [&]() -> absl::Status {
    while (true) {
      const int received = avcodec_receive_frame(decoder.get(), frame.get());
      if (received == AVERROR(EAGAIN) || received == AVERROR_EOF)
        return absl::OkStatus();
      if (received < 0) {
        ++decode_errors;  // a damaged frame: skip it as the ffmpeg CLI does
        return absl::OkStatus();
      }
      absl::Status converted =
          resampler.Convert(frame.get(), options.target_sample_rate,
                            options.target_channels, out);
      av_frame_unref(frame.get());
      if (!converted.ok()) return converted;
      if (static_cast<int64_t>(out.size()) > max_samples) {
        return Invalid(
            absl::StrCat("decoded audio is longer than max_audio_duration ",
                         absl::FormatDuration(options.max_duration)));
      }
    }
  };

  while (true) {
    const int read = av_read_frame(format, packet.get());
    if (read == AVERROR_EXIT || absl::Now() > reader.deadline) {
      return Invalid(absl::StrCat("decoding exceeded the wall-time limit ",
                                  absl::FormatDuration(options.max_wall_time)));
    }
    if (read < 0) break;  // end of input, or damage we cannot read past
    if (packet->stream_index == stream_index) {
      if (avcodec_send_packet(decoder.get(), packet.get()) < 0) ++decode_errors;
      absl::Status status = drain();
      if (!status.ok()) return status;
    }
    av_packet_unref(packet.get());
  }
  avcodec_send_packet(decoder.get(), nullptr);
  if (absl::Status status = drain(); !status.ok()) return status;
  if (absl::Status status = resampler.Flush(options.target_channels, out);
      !status.ok()) {
    return status;
  }
  if (out.empty()) {
    return Invalid(decode_errors > 0 ? "every audio frame was damaged"
                                     : "decoded to no samples");
  }
  return result;
}

}  // namespace voxgate::audio
