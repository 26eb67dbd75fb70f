// libFuzzer target for the decode entry point: any bytes, any declared format,
// must give audio or INVALID_ARGUMENT, never a crash, leak or sanitizer report.
// Build and run: scripts/fuzz.sh [seconds].

#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"
#include "audio/decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  voxgate::audio::DecodeOptions options;
  // The first byte picks how the rest is declared, so raw paths get fuzzed too.
  const uint8_t selector = data[0];
  switch (selector % 8) {
    case 1:
      options.format = voxgate::audio::InputFormat::kS16le;
      break;
    case 2:
      options.format = voxgate::audio::InputFormat::kMulaw;
      break;
    case 3:
      options.format = voxgate::audio::InputFormat::kAlaw;
      break;
    default:
      break;  // auto-detect most of the time
  }
  options.input_sample_rate = 8000 * (1 + (selector >> 4) % 6);
  options.input_channels = 1 + (selector >> 3) % 2;
  options.max_duration = absl::Seconds(120);
  options.max_wall_time = absl::Seconds(5);
  auto decoded = voxgate::audio::DecodeAudio(
      absl::string_view(reinterpret_cast<const char*>(data + 1), size - 1),
      options);
  if (!decoded.ok() &&
      decoded.status().code() != absl::StatusCode::kInvalidArgument) {
    __builtin_trap();  // only INVALID_ARGUMENT is a valid failure
  }
  return 0;
}
