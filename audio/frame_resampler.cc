#include "audio/frame_resampler.h"

#include "absl/strings/str_cat.h"

extern "C" {
#include <libavutil/opt.h>
}

namespace voxgate::audio::internal {
namespace {

absl::Status Invalid(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("audio: ", message));
}

}  // namespace

absl::Status FrameResampler::Convert(const AVFrame* frame, int target_rate,
                                     int target_channels,
                                     std::vector<float>& out) {
  if (swr_ == nullptr || frame->sample_rate != in_rate_ ||
      frame->format != in_format_ ||
      av_channel_layout_compare(&frame->ch_layout, &frame_layout_) != 0) {
    absl::Status status = Reset(frame, target_rate, target_channels);
    if (!status.ok()) return status;
  }
  return Append(frame->extended_data, frame->nb_samples, target_channels, out);
}

absl::Status FrameResampler::Flush(int target_channels,
                                   std::vector<float>& out) {
  if (swr_ == nullptr) return absl::OkStatus();
  return Append(nullptr, 0, target_channels, out);
}

FrameResampler::~FrameResampler() {
  av_channel_layout_uninit(&in_layout_);
  av_channel_layout_uninit(&frame_layout_);
}

absl::Status FrameResampler::Reset(const AVFrame* frame, int target_rate,
                                   int target_channels) {
  av_channel_layout_uninit(&in_layout_);
  av_channel_layout_uninit(&frame_layout_);
  // Compared as the decoder gives it, so an unspecified layout does not look
  // changed (and reset the filter, losing its lookahead) on every frame.
  av_channel_layout_copy(&frame_layout_, &frame->ch_layout);
  if (frame->ch_layout.nb_channels <= 0 || frame->ch_layout.nb_channels > 16) {
    return Invalid(absl::StrCat("unsupported channel count ",
                                frame->ch_layout.nb_channels, " (1 to 16)"));
  }
  if (frame->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
    av_channel_layout_default(&in_layout_, frame->ch_layout.nb_channels);
  } else {
    av_channel_layout_copy(&in_layout_, &frame->ch_layout);
  }
  in_rate_ = frame->sample_rate;
  in_format_ = frame->format;
  AVChannelLayout out_layout;
  av_channel_layout_default(&out_layout, target_channels);
  SwrContext* swr = nullptr;
  int error = swr_alloc_set_opts2(
      &swr, &out_layout, AV_SAMPLE_FMT_FLT, target_rate, &in_layout_,
      static_cast<AVSampleFormat>(in_format_), in_rate_, 0, nullptr);
  av_channel_layout_uninit(&out_layout);
  // Downmix coefficients sum to at most one: identical channels keep their
  // level and nothing clips.
  if (error >= 0) {
    av_opt_set_double(swr, "rematrix_maxval", 1.0, 0);
    // Half swr's default filter length: the resampler was the costliest stage
    // (bench/README.md) and speech models gain nothing from a steeper
    // anti-aliasing slope; stop-band leakage stays below -60 dB.
    av_opt_set_int(swr, "filter_size", 16, 0);
  }
  if (error < 0 || (error = swr_init(swr)) < 0) {
    swr_free(&swr);
    return Invalid(absl::StrCat("cannot resample from ", in_rate_,
                                " Hz: ", AvError(error)));
  }
  swr_.reset(swr);
  return absl::OkStatus();
}

absl::Status FrameResampler::Append(uint8_t** input, int input_samples,
                                    int target_channels,
                                    std::vector<float>& out) {
  while (true) {
    // When flushing, the estimate may say 0 while the filter still holds a
    // tail; ask for a block until nothing more comes.
    const int capacity = input == nullptr
                             ? 4096
                             : swr_get_out_samples(swr_.get(), input_samples);
    if (capacity <= 0) return absl::OkStatus();
    const std::size_t start = out.size();
    out.resize(start + static_cast<std::size_t>(capacity) * target_channels);
    uint8_t* destination = reinterpret_cast<uint8_t*>(out.data() + start);
    const int got =
        swr_convert(swr_.get(), &destination, capacity,
                    const_cast<const uint8_t**>(input), input_samples);
    if (got < 0) {
      out.resize(start);
      return Invalid(absl::StrCat("resampling failed: ", AvError(got)));
    }
    out.resize(start + static_cast<std::size_t>(got) * target_channels);
    if (input != nullptr || got == 0) return absl::OkStatus();
    // Flushing: repeat until nothing is left.
  }
}

}  // namespace voxgate::audio::internal
