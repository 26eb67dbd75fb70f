#ifndef VOXGATE_TESTS_FAKE_UPSTREAM_PAYLOADS_H_
#define VOXGATE_TESTS_FAKE_UPSTREAM_PAYLOADS_H_

// What the fake reads out of request bodies: multipart forms and audio.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace voxgate::testing {

struct FormPart {
  std::string name;
  std::string filename;  // empty for plain fields
  std::string content_type;
  std::string value;
};

// Parses a multipart/form-data body; nullopt when it is not well formed.
std::optional<std::vector<FormPart>> ParseMultipart(
    absl::string_view content_type, absl::string_view body);

// What the fake learned from audio bytes.
struct AudioProbe {
  std::string format;  // "wav" or "other"
  int sample_rate = 0;
  int channels = 0;
  int bits_per_sample = 0;
  int64_t frames = 0;  // samples per channel
  double duration_seconds = 0;
  uint32_t crc32 = 0;  // of the PCM data for WAV, of all bytes otherwise
  int64_t bytes = 0;

  nlohmann::json ToJson() const;
};

AudioProbe ProbeAudio(absl::string_view bytes);

}  // namespace voxgate::testing

#endif  // VOXGATE_TESTS_FAKE_UPSTREAM_PAYLOADS_H_
