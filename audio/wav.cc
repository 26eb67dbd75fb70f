#include "audio/wav.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace voxgate::audio {
namespace {

void PutLe(std::string& out, uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

}  // namespace

std::string EncodeWav(const PcmAudio& audio, int64_t start_frame,
                      int64_t end_frame) {
  start_frame = std::clamp<int64_t>(start_frame, 0, audio.frames());
  end_frame = std::clamp<int64_t>(end_frame, start_frame, audio.frames());
  const uint32_t data_bytes =
      static_cast<uint32_t>((end_frame - start_frame) * audio.channels * 2);
  std::string out;
  out.reserve(44 + data_bytes);
  out += "RIFF";
  PutLe(out, 36 + data_bytes, 4);
  out += "WAVEfmt ";
  PutLe(out, 16, 4);
  PutLe(out, 1, 2);  // PCM
  PutLe(out, static_cast<uint32_t>(audio.channels), 2);
  PutLe(out, static_cast<uint32_t>(audio.sample_rate), 4);
  PutLe(out, static_cast<uint32_t>(audio.sample_rate * audio.channels * 2), 4);
  PutLe(out, static_cast<uint32_t>(audio.channels * 2), 2);
  PutLe(out, 16, 2);
  out += "data";
  PutLe(out, data_bytes, 4);
  const float* begin = audio.samples.data() + start_frame * audio.channels;
  const float* end = audio.samples.data() + end_frame * audio.channels;
  for (const float* sample = begin; sample != end; ++sample) {
    const float clipped = std::clamp(*sample, -1.0f, 1.0f);
    const int16_t value = static_cast<int16_t>(std::lrint(clipped * 32767.0f));
    PutLe(out, static_cast<uint16_t>(value), 2);
  }
  return out;
}

std::optional<WavLayout> ParseWavHeader(absl::string_view bytes) {
  auto le = [&bytes](std::size_t at, int width) {
    uint32_t value = 0;
    for (int i = width - 1; i >= 0; --i) {
      value = (value << 8) |
              static_cast<uint8_t>(bytes[at + static_cast<std::size_t>(i)]);
    }
    return value;
  };
  if (bytes.size() < 12 || bytes.substr(0, 4) != "RIFF" ||
      bytes.substr(8, 4) != "WAVE") {
    return std::nullopt;
  }
  WavLayout layout;
  for (std::size_t pos = 12; pos + 8 <= bytes.size();) {
    const uint32_t size = le(pos + 4, 4);
    const std::size_t data = pos + 8;
    if (bytes.substr(pos, 4) == "fmt ") {
      if (data + 16 > bytes.size()) return std::nullopt;  // not all here yet
      layout.format_tag = static_cast<int>(le(data, 2));
      layout.channels = static_cast<int>(le(data + 2, 2));
      layout.sample_rate = static_cast<int>(le(data + 4, 4));
      layout.bits_per_sample = static_cast<int>(le(data + 14, 2));
    } else if (bytes.substr(pos, 4) == "data") {
      layout.data_offset = data;
      layout.data_bytes = size;
      return layout;
    }
    pos = data + size + (size & 1);
  }
  return std::nullopt;
}

std::optional<Pcm16> ParseWavPcm16(const std::string& bytes) {
  std::optional<WavLayout> layout = ParseWavHeader(bytes);
  if (!layout || layout->format_tag != 1 || layout->bits_per_sample != 16 ||
      layout->channels <= 0) {
    return std::nullopt;
  }
  Pcm16 pcm;
  pcm.sample_rate = layout->sample_rate;
  pcm.channels = layout->channels;
  const std::size_t length =
      std::min<std::size_t>(layout->data_bytes,
                            bytes.size() - layout->data_offset) /
      2;
  pcm.samples.resize(length);
  std::memcpy(pcm.samples.data(), bytes.data() + layout->data_offset,
              length * 2);
  return pcm;
}

}  // namespace voxgate::audio
