#include "audio/container_stream_decoder.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "audio/ffmpeg_handles.h"
#include "audio/ffmpeg_policy.h"
#include "audio/frame_resampler.h"

namespace voxgate::audio {
namespace {

using internal::AvError;

absl::Status Invalid(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("audio: ", message));
}

// The demuxer each declared container needs (nullptr: sniff).
const char* DemuxerFor(StreamContainer container) {
  switch (container) {
    case StreamContainer::kOggOpus:
    case StreamContainer::kOggVorbis:
      return "ogg";
    case StreamContainer::kWebmOpus:
      return "matroska";
    case StreamContainer::kMp3:
      return "mp3";
    case StreamContainer::kFlac:
      return "flac";
    case StreamContainer::kAny:
      return nullptr;
  }
  return nullptr;
}

// The codec each declared container must carry (NONE: any allowed one).
AVCodecID CodecFor(StreamContainer container) {
  switch (container) {
    case StreamContainer::kOggOpus:
    case StreamContainer::kWebmOpus:
      return AV_CODEC_ID_OPUS;
    case StreamContainer::kOggVorbis:
      return AV_CODEC_ID_VORBIS;
    case StreamContainer::kMp3:
      return AV_CODEC_ID_MP3;
    case StreamContainer::kFlac:
      return AV_CODEC_ID_FLAC;
    case StreamContainer::kAny:
      return AV_CODEC_ID_NONE;
  }
  return AV_CODEC_ID_NONE;
}

}  // namespace

ContainerStreamDecoder::ContainerStreamDecoder(StreamContainer container,
                                               int target_rate)
    : container_(container), target_rate_(target_rate) {}

ContainerStreamDecoder::~ContainerStreamDecoder() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status ContainerStreamDecoder::Push(absl::string_view bytes,
                                          std::vector<float>& out) {
  if (bytes.empty()) return absl::OkStatus();
  {
    absl::MutexLock lock(&mu_);
    if (done_) return status_.ok() ? Invalid("the stream has ended") : status_;
    input_.append(bytes.data(), bytes.size());
    starved_ = false;
  }
  // Started by the first bytes: the demuxer's first act is to read.
  if (!thread_.joinable())
    thread_ = std::thread(&ContainerStreamDecoder::Run, this);
  return WaitUntilStarvedOrDone(out);
}

absl::Status ContainerStreamDecoder::Finish(std::vector<float>& out) {
  if (!thread_.joinable()) return absl::OkStatus();  // nothing ever came
  {
    absl::MutexLock lock(&mu_);
    input_ended_ = true;
    mu_.Await(absl::Condition(&done_));
  }
  thread_.join();
  return WaitUntilStarvedOrDone(out);
}

absl::Status ContainerStreamDecoder::WaitUntilStarvedOrDone(
    std::vector<float>& out) {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &ContainerStreamDecoder::StarvedOrDone));
  out.insert(out.end(), output_.begin(), output_.end());
  output_.clear();
  return done_ ? status_ : absl::OkStatus();
}

void ContainerStreamDecoder::Run() {
  absl::Status status = Decode();
  absl::MutexLock lock(&mu_);
  status_ = std::move(status);
  done_ = true;
}

int ContainerStreamDecoder::ReadThunk(void* opaque, uint8_t* buffer, int size) {
  return static_cast<ContainerStreamDecoder*>(opaque)->Read(buffer, size);
}

int ContainerStreamDecoder::InterruptThunk(void* opaque) {
  auto* self = static_cast<ContainerStreamDecoder*>(opaque);
  absl::MutexLock lock(&self->mu_);
  return self->stopping_ ? 1 : 0;
}

int ContainerStreamDecoder::Read(uint8_t* buffer, int size) {
  absl::MutexLock lock(&mu_);
  if (!Readable()) {
    starved_ = true;  // everything pushed so far is decoded: Push may return
    mu_.Await(absl::Condition(this, &ContainerStreamDecoder::Readable));
  }
  if (stopping_) return AVERROR_EXIT;
  if (consumed_ == input_.size()) return AVERROR_EOF;  // input ended
  const std::size_t n =
      std::min(static_cast<std::size_t>(size), input_.size() - consumed_);
  std::memcpy(buffer, input_.data() + consumed_, n);
  consumed_ += n;
  if (consumed_ == input_.size()) {
    input_.clear();
    consumed_ = 0;
  }
  return static_cast<int>(n);
}

void ContainerStreamDecoder::Emit(std::vector<float> samples) {
  if (samples.empty()) return;
  absl::MutexLock lock(&mu_);
  output_.insert(output_.end(), samples.begin(), samples.end());
}

absl::Status ContainerStreamDecoder::Decode() {
  // Not seekable: a stream is read once, as it arrives.
  absl::StatusOr<internal::IoContextPtr> io =
      internal::MakeIoContext(16384, this, &ReadThunk, nullptr);
  if (!io.ok()) return io.status();
  AVFormatContext* format = internal::GuardedFormatContext(
      io->get(), &InterruptThunk, this, /*max_streams=*/4);
  format->probesize = 64 << 10;
  const char* demuxer = DemuxerFor(container_);
  const int opened = avformat_open_input(
      &format, nullptr,
      demuxer != nullptr ? av_find_input_format(demuxer) : nullptr, nullptr);
  if (opened == AVERROR_EXIT) return absl::CancelledError("stream stopped");
  if (opened < 0) {  // avformat_open_input freed the context
    return Invalid(absl::StrCat(
        demuxer != nullptr ? absl::StrCat("not a ", demuxer, " stream")
                           : std::string("not a supported container stream"),
        " (", AvError(opened), ")"));
  }
  internal::FormatContextPtr format_owner(format);
  absl::StatusOr<internal::AudioStream> found =
      internal::FindAudioStream(format);
  if (!found.ok()) return found.status();
  const int stream_index = found->index;
  const AVCodecID codec_id = format->streams[stream_index]->codecpar->codec_id;
  const AVCodecID wanted = CodecFor(container_);
  if (wanted != AV_CODEC_ID_NONE && codec_id != wanted) {
    return Invalid(
        absl::StrCat("the stream carries ", avcodec_get_name(codec_id),
                     ", not the declared ", avcodec_get_name(wanted)));
  }
  absl::StatusOr<internal::CodecContextPtr> opened_decoder =
      internal::OpenDecoder(format, *found);
  if (!opened_decoder.ok()) return opened_decoder.status();
  internal::CodecContextPtr decoder = *std::move(opened_decoder);

  internal::PacketPtr packet(av_packet_alloc());
  internal::FramePtr frame(av_frame_alloc());
  internal::FrameResampler resampler;
  auto drain = [&]() -> absl::Status {
    std::vector<float> samples;
    while (avcodec_receive_frame(decoder.get(), frame.get()) >= 0) {
      absl::Status converted =
          resampler.Convert(frame.get(), target_rate_, 1, samples);
      av_frame_unref(frame.get());
      if (!converted.ok()) return converted;
    }
    Emit(std::move(samples));
    return absl::OkStatus();
  };
  while (true) {
    const int read = av_read_frame(format, packet.get());
    if (read == AVERROR_EXIT) return absl::CancelledError("stream stopped");
    if (read == AVERROR_EOF) break;
    if (read < 0) {
      return Invalid(
          absl::StrCat("the container stream is damaged: ", AvError(read)));
    }
    if (packet->stream_index == stream_index) {
      // A damaged packet is skipped, as the ffmpeg CLI does.
      avcodec_send_packet(decoder.get(), packet.get());
      if (absl::Status status = drain(); !status.ok()) return status;
    }
    av_packet_unref(packet.get());
  }
  avcodec_send_packet(decoder.get(), nullptr);
  if (absl::Status status = drain(); !status.ok()) return status;
  std::vector<float> tail;
  if (absl::Status status = resampler.Flush(1, tail); !status.ok())
    return status;
  Emit(std::move(tail));
  return absl::OkStatus();
}

}  // namespace voxgate::audio
