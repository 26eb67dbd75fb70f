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

}  // namespace voxgate::audio
