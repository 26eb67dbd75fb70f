#include "audio/ffmpeg_policy.h"

#include <set>

#include "absl/strings/str_cat.h"

namespace voxgate::audio::internal {

bool IsAllowedCodec(AVCodecID id) {
  static const std::set<AVCodecID> kAllowed = {
      AV_CODEC_ID_PCM_S16LE, AV_CODEC_ID_PCM_S16BE,     AV_CODEC_ID_PCM_U8,
      AV_CODEC_ID_PCM_S24LE, AV_CODEC_ID_PCM_S32LE,     AV_CODEC_ID_PCM_F32LE,
      AV_CODEC_ID_PCM_F64LE, AV_CODEC_ID_PCM_MULAW,     AV_CODEC_ID_PCM_ALAW,
      AV_CODEC_ID_ADPCM_MS,  AV_CODEC_ID_ADPCM_IMA_WAV, AV_CODEC_ID_MP3,
      AV_CODEC_ID_MP2,       AV_CODEC_ID_FLAC,          AV_CODEC_ID_VORBIS,
      AV_CODEC_ID_OPUS,      AV_CODEC_ID_AAC,           AV_CODEC_ID_ALAC,
  };
  return kAllowed.count(id) > 0;
}

absl::StatusOr<IoContextPtr> MakeIoContext(int buffer_size, void* opaque,
                                           int (*read)(void*, uint8_t*, int),
                                           int64_t (*seek)(void*, int64_t,
                                                           int)) {
  auto* buffer = static_cast<unsigned char*>(av_malloc(buffer_size));
  IoContextPtr io(
      avio_alloc_context(buffer, buffer_size, 0, opaque, read, nullptr, seek));
  if (io == nullptr) {
    av_free(buffer);
    return absl::ResourceExhaustedError(
        "audio: out of memory for the I/O context");
  }
  return io;
}

AVFormatContext* GuardedFormatContext(AVIOContext* io, int (*interrupt)(void*),
                                      void* opaque, int max_streams) {
  AVFormatContext* format = avformat_alloc_context();
  format->pb = io;
  format->flags |= AVFMT_FLAG_CUSTOM_IO;
  format->interrupt_callback = {interrupt, opaque};
  format->io_open = &RefuseNestedOpen;
  format->format_whitelist = av_strdup(kFormatWhitelist);
  format->max_streams = max_streams;
  return format;
}

absl::StatusOr<AudioStream> FindAudioStream(AVFormatContext* format) {
  const bool described =
      format->nb_streams == 1 &&
      format->streams[0]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO &&
      format->streams[0]->codecpar->sample_rate > 0 &&
      format->streams[0]->codecpar->ch_layout.nb_channels > 0;
  if (!described) {
    if (const int found = avformat_find_stream_info(format, nullptr);
        found < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "audio: cannot read stream information: ", AvError(found)));
    }
  }
  AudioStream stream;
  stream.index =
      av_find_best_stream(format, AVMEDIA_TYPE_AUDIO, -1, -1, &stream.codec, 0);
  if (stream.index < 0 || stream.codec == nullptr)
    return absl::InvalidArgumentError("audio: no decodable audio stream");
  const AVCodecID id = format->streams[stream.index]->codecpar->codec_id;
  if (!IsAllowedCodec(id)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "audio: codec ", avcodec_get_name(id), " is not supported"));
  }
  return stream;
}

absl::StatusOr<CodecContextPtr> OpenDecoder(AVFormatContext* format,
                                            const AudioStream& stream) {
  const AVStream* av_stream = format->streams[stream.index];
  CodecContextPtr decoder(avcodec_alloc_context3(stream.codec));
  if (decoder == nullptr ||
      avcodec_parameters_to_context(decoder.get(), av_stream->codecpar) < 0) {
    return absl::ResourceExhaustedError("audio: cannot allocate a decoder");
  }
  decoder->pkt_timebase = av_stream->time_base;
  decoder->thread_count = 1;
  if (const int error = avcodec_open2(decoder.get(), stream.codec, nullptr);
      error < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("audio: cannot open the ", stream.codec->name,
                     " decoder: ", AvError(error)));
  }
  return decoder;
}

int RefuseNestedOpen(AVFormatContext*, AVIOContext**, const char*, int,
                     AVDictionary**) {
  return AVERROR(EPERM);
}

}  // namespace voxgate::audio::internal
