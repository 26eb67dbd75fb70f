#include "audio/decoder.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "audio/ffmpeg_handles.h"
#include "audio/ffmpeg_policy.h"
#include "audio/frame_resampler.h"
#include "common/clock.h"
#include "common/log_rate_limit.h"

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

// The bytes FFmpeg reads: memory, or a file read with pread (a spooled upload).
struct Reader {
  const uint8_t* data = nullptr;
  int fd = -1;
  int64_t size = 0;
  int64_t position = 0;
  absl::Time deadline;
};

int ReadPacket(void* opaque, uint8_t* buffer, int size) {
  auto* reader = static_cast<Reader*>(opaque);
  const int64_t left = reader->size - reader->position;
  if (left <= 0) return AVERROR_EOF;  // never 0: FFmpeg wants a proper error
  int n = static_cast<int>(std::min<int64_t>(size, left));
  if (reader->fd >= 0) {
    const ssize_t got = pread(reader->fd, buffer, n, reader->position);
    if (got < 0) return AVERROR(errno);
    if (got == 0) return AVERROR_EOF;
    n = static_cast<int>(got);
  } else {
    std::memcpy(buffer, reader->data + reader->position, n);
  }
  reader->position += n;
  return n;
}

int64_t Seek(void* opaque, int64_t offset, int whence) {
  auto* reader = static_cast<Reader*>(opaque);
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
  return absl::Now() > static_cast<Reader*>(opaque)->deadline ? 1 : 0;
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
  // FFmpeg warns per damaged frame: a crafted file would flood the log.
  // (Its callback has no context pointer: the limit is process-wide.)
  static LogRateLimit* const limit = new LogRateLimit(20, RealClock());
  int64_t dropped = 0;
  if (!limit->Allow(dropped)) return;
  char line[1024];
  int print_prefix = 1;
  av_log_format_line2(context, level, format, args, line, sizeof(line),
                      &print_prefix);
  Logger::Fields fields = {
      {"detail", std::string(absl::StripTrailingAsciiWhitespace(line))}};
  if (dropped > 0) fields["dropped_before"] = dropped;
  logger->Log(level <= AV_LOG_ERROR ? LogLevel::kError : LogLevel::kWarning,
              "ffmpeg", fields);
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

// One decode: FFmpeg's contexts for an input, kept between steps. The reader
// is a member, so FFmpeg's pointer to it stays valid.
class SteppedDecoder final : public FileDecoder {
 public:
  explicit SteppedDecoder(const DecodeOptions& options) : options_(options) {}

  // Opens `reader`'s input: finds the audio stream and its decoder.
  absl::Status Open(const Reader& reader);
  const SourceInfo& source() const override { return source_; }
  absl::StatusOr<bool> Next(int64_t min_samples,
                            std::vector<float>& out) override;

 private:
  absl::Status WallTimeExceeded() const {
    return Invalid(absl::StrCat("decoding exceeded the wall-time limit ",
                                absl::FormatDuration(options_.max_wall_time)));
  }
  // Takes every frame the decoder has ready into `out`.
  absl::Status Drain(std::vector<float>& out);

  const DecodeOptions options_;
  Reader reader_;
  internal::IoContextPtr io_;
  internal::FormatContextPtr format_;
  internal::CodecContextPtr decoder_;
  internal::PacketPtr packet_{av_packet_alloc()};
  internal::FramePtr frame_{av_frame_alloc()};
  FrameResampler resampler_;
  SourceInfo source_;
  int stream_index_ = -1;
  int64_t max_samples_ = 0;
  int64_t samples_out_ = 0;
  int decode_errors_ = 0;
  bool done_ = false;
  // Of max_wall_time: only time spent decoding counts, so that a file
  // decoded chunk by chunk as its chunks are answered is not cut off by a
  // slow backend.
  absl::Duration wall_time_left_;
};

absl::Status SteppedDecoder::Open(const Reader& reader) {
  // Until RouteFfmpegLogs runs, FFmpeg writes nothing to our stderr.
  static const bool quiet_by_default = [] {
    if (ffmpeg_logger.load() == nullptr) av_log_set_level(AV_LOG_QUIET);
    return true;
  }();
  (void)quiet_by_default;

  if (reader.size <= 0) return Invalid("content is empty");
  if (reader.size > options_.max_input_bytes) {
    return Invalid(absl::StrCat("content is ", reader.size,
                                " bytes, over max_audio_bytes ",
                                options_.max_input_bytes));
  }
  const char* raw = RawDemuxer(options_.format);
  if (raw != nullptr &&
      (options_.input_sample_rate < 1000 ||
       options_.input_sample_rate > 384000 || options_.input_channels < 1 ||
       options_.input_channels > 16)) {
    return Invalid(
        absl::StrCat("raw ", raw,
                     " audio needs sample_rate_hertz (1000 to 384000) and "
                     "channel_count (1 to 16); got ",
                     options_.input_sample_rate, " Hz, ",
                     options_.input_channels, " channels"));
  }

  reader_ = reader;
  const absl::Time opened_at = absl::Now();
  reader_.deadline = opened_at + options_.max_wall_time;
  absl::StatusOr<internal::IoContextPtr> io =
      internal::MakeIoContext(32768, &reader_, &ReadPacket, &Seek);
  if (!io.ok()) return io.status();
  io_ = *std::move(io);
  AVFormatContext* format = internal::GuardedFormatContext(
      io_.get(), &Interrupted, &reader_, options_.max_streams);
  format->probesize = options_.probe_bytes;
  format->max_analyze_duration = 5 * AV_TIME_BASE;

  AVDictionary* demuxer_options = nullptr;
  if (raw != nullptr) {
    AVChannelLayout layout;
    av_channel_layout_default(&layout, options_.input_channels);
    char description[64];
    av_channel_layout_describe(&layout, description, sizeof(description));
    av_channel_layout_uninit(&layout);
    av_dict_set_int(&demuxer_options, "sample_rate", options_.input_sample_rate,
                    0);
    av_dict_set(&demuxer_options, "ch_layout", description, 0);
  }
  const int opened = avformat_open_input(
      &format, nullptr, raw != nullptr ? av_find_input_format(raw) : nullptr,
      &demuxer_options);
  av_dict_free(&demuxer_options);
  if (opened < 0) {  // avformat_open_input freed the context
    if (absl::Now() > reader_.deadline) return WallTimeExceeded();
    return Invalid(
        absl::StrCat("not a supported audio format (WAV, MP3, FLAC, Ogg "
                     "Vorbis/Opus, WebM/Opus, M4A/AAC, raw PCM): ",
                     AvError(opened)));
  }
  format_.reset(format);
  absl::StatusOr<internal::AudioStream> found =
      internal::FindAudioStream(format);
  if (!found.ok()) return found.status();
  stream_index_ = found->index;
  // A container that declares its length (Ogg from its last page, WAV, FLAC,
  // M4A) is refused before decoding when that is over the limit: 10 hours of
  // Opus silence fit in 14 MB and take 20 s of CPU to decode. Decoding still
  // stops at the limit for containers that declare nothing, or lie.
  if (const absl::Duration declared = DeclaredDuration(*format, stream_index_);
      declared > options_.max_duration + absl::Seconds(1)) {
    return Invalid(absl::StrCat(
        "the file declares ",
        absl::FormatDuration(absl::Trunc(declared, absl::Seconds(1))),
        " of audio, over ", options_.max_duration_name, " ",
        absl::FormatDuration(options_.max_duration)));
  }
  absl::StatusOr<internal::CodecContextPtr> opened_decoder =
      internal::OpenDecoder(format, *found);
  if (!opened_decoder.ok()) return opened_decoder.status();
  decoder_ = *std::move(opened_decoder);

  source_.container = format->iformat->name;
  source_.codec = found->codec->name;
  source_.sample_rate = decoder_->sample_rate;
  source_.channels = decoder_->ch_layout.nb_channels;
  max_samples_ =
      static_cast<int64_t>(absl::ToDoubleSeconds(options_.max_duration) *
                           options_.target_sample_rate) *
      options_.target_channels;
  wall_time_left_ = options_.max_wall_time - (absl::Now() - opened_at);
  return absl::OkStatus();
}

absl::Status SteppedDecoder::Drain(std::vector<float>& out) {
  while (true) {
    const int received = avcodec_receive_frame(decoder_.get(), frame_.get());
    if (received == AVERROR(EAGAIN) || received == AVERROR_EOF)
      return absl::OkStatus();
    if (received < 0) {
      ++decode_errors_;  // a damaged frame: skip it as the ffmpeg CLI does
      return absl::OkStatus();
    }
    const std::size_t before = out.size();
    absl::Status converted =
        resampler_.Convert(frame_.get(), options_.target_sample_rate,
                           options_.target_channels, out);
    av_frame_unref(frame_.get());
    if (!converted.ok()) return converted;
    samples_out_ += static_cast<int64_t>(out.size() - before);
    if (samples_out_ > max_samples_) {
      return Invalid(
          absl::StrCat("decoded audio is longer than ",
                       options_.max_duration_name, " ",
                       absl::FormatDuration(options_.max_duration)));
    }
  }
}

absl::StatusOr<bool> SteppedDecoder::Next(int64_t min_samples,
                                          std::vector<float>& out) {
  if (done_) return false;
  const absl::Time started = absl::Now();
  reader_.deadline = started + wall_time_left_;
  // Whatever way this step ends, its time is spent.
  struct Spend {
    absl::Duration& left;
    absl::Time started;
    ~Spend() { left -= absl::Now() - started; }
  } spend{wall_time_left_, started};
  const std::size_t wanted =
      out.size() + static_cast<std::size_t>(std::max<int64_t>(min_samples, 1));
  while (out.size() < wanted) {
    const int read = av_read_frame(format_.get(), packet_.get());
    if (read == AVERROR_EXIT || absl::Now() > reader_.deadline) {
      return WallTimeExceeded();
    }
    if (read < 0) break;  // end of input, or damage we cannot read past
    if (packet_->stream_index == stream_index_) {
      if (avcodec_send_packet(decoder_.get(), packet_.get()) < 0)
        ++decode_errors_;
      absl::Status status = Drain(out);
      if (!status.ok()) {
        av_packet_unref(packet_.get());
        return status;
      }
    }
    av_packet_unref(packet_.get());
  }
  if (out.size() >= wanted) return true;
  // The input is over: flush the decoder and the resampler.
  done_ = true;
  avcodec_send_packet(decoder_.get(), nullptr);
  if (absl::Status status = Drain(out); !status.ok()) return status;
  const std::size_t before = out.size();
  if (absl::Status status = resampler_.Flush(options_.target_channels, out);
      !status.ok()) {
    return status;
  }
  samples_out_ += static_cast<int64_t>(out.size() - before);
  if (samples_out_ == 0) {
    return Invalid(decode_errors_ > 0 ? "every audio frame was damaged"
                                      : "decoded to no samples");
  }
  return false;
}

}  // namespace

void RouteFfmpegLogs(const Logger& logger) {
  ffmpeg_logger.store(&logger);
  av_log_set_level(AV_LOG_WARNING);
  av_log_set_callback(&LogFromFfmpeg);
}

absl::StatusOr<DecodedAudio> DecodeAudio(absl::string_view bytes,
                                         const DecodeOptions& options) {
  SteppedDecoder decoder(options);
  Reader reader;
  reader.data = reinterpret_cast<const uint8_t*>(bytes.data());
  reader.size = static_cast<int64_t>(bytes.size());
  if (absl::Status opened = decoder.Open(reader); !opened.ok()) return opened;
  DecodedAudio result;
  result.pcm.sample_rate = options.target_sample_rate;
  result.pcm.channels = options.target_channels;
  absl::StatusOr<bool> more =
      decoder.Next(std::numeric_limits<int64_t>::max() / 2, result.pcm.samples);
  if (!more.ok()) return more.status();
  result.source = decoder.source();
  return result;
}

absl::StatusOr<double> MeasureAudioSeconds(absl::string_view bytes,
                                           const DecodeOptions& options) {
  absl::StatusOr<std::unique_ptr<FileDecoder>> decoder =
      FileDecoder::OpenMemory(bytes, options);
  if (!decoder.ok()) return decoder.status();
  const int64_t step = options.target_sample_rate;  // about a second a step
  std::vector<float> samples;
  int64_t counted = 0;
  while (true) {
    samples.clear();
    absl::StatusOr<bool> more = (*decoder)->Next(step, samples);
    if (!more.ok()) return more.status();
    counted += static_cast<int64_t>(samples.size());
    if (!*more) break;
  }
  return static_cast<double>(counted) /
         std::max(1, options.target_channels) / options.target_sample_rate;
}

absl::StatusOr<std::unique_ptr<FileDecoder>> FileDecoder::OpenMemory(
    absl::string_view bytes, const DecodeOptions& options) {
  auto decoder = std::make_unique<SteppedDecoder>(options);
  Reader reader;
  reader.data = reinterpret_cast<const uint8_t*>(bytes.data());
  reader.size = static_cast<int64_t>(bytes.size());
  if (absl::Status opened = decoder->Open(reader); !opened.ok()) return opened;
  return decoder;
}

absl::StatusOr<std::unique_ptr<FileDecoder>> FileDecoder::Open(
    int fd, int64_t size, const DecodeOptions& options) {
  auto decoder = std::make_unique<SteppedDecoder>(options);
  Reader reader;
  reader.fd = fd;
  reader.size = size;
  if (absl::Status opened = decoder->Open(reader); !opened.ok()) return opened;
  return decoder;
}

}  // namespace voxgate::audio
