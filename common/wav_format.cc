#include "common/wav_format.h"

#include <cstring>

namespace voxgate {

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

}  // namespace voxgate
