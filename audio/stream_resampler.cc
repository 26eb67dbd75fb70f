#include "audio/stream_resampler.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "audio/ffmpeg_handles.h"

extern "C" {
#include <libavutil/opt.h>
}

namespace voxgate::audio {
namespace {

// ITU-T G.711 expansions to 16-bit linear.
int16_t MulawToLinear(uint8_t value) {
  value = static_cast<uint8_t>(~value);
  const int sign = value & 0x80;
  const int exponent = (value >> 4) & 0x07;
  const int mantissa = value & 0x0f;
  int sample = ((mantissa << 3) + 0x84) << exponent;
  sample -= 0x84;
  return static_cast<int16_t>(sign ? -sample : sample);
}

int16_t AlawToLinear(uint8_t value) {
  value ^= 0x55;
  const int sign = value & 0x80;
  const int exponent = (value >> 4) & 0x07;
  const int mantissa = value & 0x0f;
  int sample = exponent == 0 ? (mantissa << 4) + 8
                             : ((mantissa << 4) + 0x108) << (exponent - 1);
  return static_cast<int16_t>(sign ? sample : -sample);
}

}  // namespace

struct StreamResampler::Impl {
  RawEncoding encoding;
  int channels;
  internal::SwrPtr swr;
  std::string partial;  // bytes of an incomplete frame
  std::vector<int16_t> frames;

  absl::Status Convert(const uint8_t* input, int input_frames,
                       std::vector<float>& out) {
    while (true) {
      const int capacity = input == nullptr
                               ? 4096
                               : swr_get_out_samples(swr.get(), input_frames);
      if (capacity <= 0) return absl::OkStatus();
      const std::size_t start = out.size();
      out.resize(start + static_cast<std::size_t>(capacity));
      uint8_t* destination = reinterpret_cast<uint8_t*>(out.data() + start);
      const uint8_t* source = input;
      const int got =
          swr_convert(swr.get(), &destination, capacity,
                      input == nullptr ? nullptr : &source, input_frames);
      if (got < 0) {
        out.resize(start);
        return absl::InternalError(
            absl::StrCat("stream resampling failed: ", internal::AvError(got)));
      }
      out.resize(start + static_cast<std::size_t>(got));
      if (input != nullptr || got == 0) return absl::OkStatus();
    }
  }
};

StreamResampler::StreamResampler(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
StreamResampler::~StreamResampler() = default;

absl::StatusOr<std::unique_ptr<StreamResampler>> StreamResampler::Create(
    RawEncoding encoding, int sample_rate, int channels, int target_rate) {
  if (sample_rate < 8000 || sample_rate > 192000) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.format.sample_rate_hertz: must be 8000 to 192000 "
                     "for raw audio, got ",
                     sample_rate));
  }
  if (channels < 1 || channels > 8) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config.format.channel_count: must be 1 to 8 for raw audio, got ",
        channels));
  }
  auto impl = std::make_unique<Impl>();
  impl->encoding = encoding;
  impl->channels = channels;
  AVChannelLayout in_layout, out_layout;
  av_channel_layout_default(&in_layout, channels);
  av_channel_layout_default(&out_layout, 1);
  SwrContext* swr = nullptr;
  int error = swr_alloc_set_opts2(&swr, &out_layout, AV_SAMPLE_FMT_FLT,
                                  target_rate, &in_layout, AV_SAMPLE_FMT_S16,
                                  sample_rate, 0, nullptr);
  av_channel_layout_uninit(&in_layout);
  av_channel_layout_uninit(&out_layout);
  if (error >= 0) {
    av_opt_set_double(swr, "rematrix_maxval", 1.0, 0);
    av_opt_set_int(swr, "filter_size", 16, 0);
    error = swr_init(swr);
  }
  if (error < 0) {
    swr_free(&swr);
    return absl::InternalError(
        absl::StrCat("stream resampler: ", internal::AvError(error)));
  }
  impl->swr.reset(swr);
  return std::unique_ptr<StreamResampler>(new StreamResampler(std::move(impl)));
}

absl::Status StreamResampler::Push(absl::string_view bytes,
                                   std::vector<float>& out) {
  Impl& impl = *impl_;
  const std::size_t bytes_per_sample =
      impl.encoding == RawEncoding::kS16le ? 2 : 1;
  const std::size_t frame_bytes = bytes_per_sample * impl.channels;
  impl.partial.append(bytes.data(), bytes.size());
  const std::size_t whole = impl.partial.size() / frame_bytes;
  impl.frames.resize(whole * impl.channels);
  const auto* data = reinterpret_cast<const uint8_t*>(impl.partial.data());
  for (std::size_t i = 0; i < impl.frames.size(); ++i) {
    switch (impl.encoding) {
      case RawEncoding::kS16le:
        impl.frames[i] =
            static_cast<int16_t>(data[2 * i] | (data[2 * i + 1] << 8));
        break;
      case RawEncoding::kMulaw:
        impl.frames[i] = MulawToLinear(data[i]);
        break;
      case RawEncoding::kAlaw:
        impl.frames[i] = AlawToLinear(data[i]);
        break;
    }
  }
  impl.partial.erase(0, whole * frame_bytes);
  if (whole == 0) return absl::OkStatus();
  return impl.Convert(reinterpret_cast<const uint8_t*>(impl.frames.data()),
                      static_cast<int>(whole), out);
}

absl::Status StreamResampler::Flush(std::vector<float>& out) {
  return impl_->Convert(nullptr, 0, out);
}

}  // namespace voxgate::audio
