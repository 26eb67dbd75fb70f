#include "tests/fake_upstream/payloads.h"

#include <zlib.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace voxgate::testing {
namespace {

uint32_t Crc32(absl::string_view bytes) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()),
            static_cast<uInt>(bytes.size())));
}

uint32_t ReadLe(absl::string_view bytes, std::size_t at, int width) {
  uint32_t value = 0;
  for (int i = width - 1; i >= 0; --i) {
    value = (value << 8) |
            static_cast<uint8_t>(bytes[at + static_cast<std::size_t>(i)]);
  }
  return value;
}

// The value of `key="..."` or `key=...` in a header's parameters.
std::string Parameter(absl::string_view header, absl::string_view key) {
  for (absl::string_view piece : absl::StrSplit(header, ';')) {
    piece = absl::StripAsciiWhitespace(piece);
    if (!absl::ConsumePrefix(&piece, absl::StrCat(key, "="))) continue;
    absl::ConsumePrefix(&piece, "\"");
    absl::ConsumeSuffix(&piece, "\"");
    return std::string(piece);
  }
  return "";
}

}  // namespace

std::optional<std::vector<FormPart>> ParseMultipart(
    absl::string_view content_type, absl::string_view body) {
  const std::string boundary = Parameter(content_type, "boundary");
  if (!absl::StartsWith(content_type, "multipart/form-data") ||
      boundary.empty()) {
    return std::nullopt;
  }
  const std::string delimiter = absl::StrCat("--", boundary);
  std::vector<FormPart> parts;
  std::size_t pos = body.find(delimiter);
  if (pos == absl::string_view::npos) return std::nullopt;
  while (true) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") return parts;  // closing delimiter
    if (body.substr(pos, 2) != "\r\n") return std::nullopt;
    pos += 2;
    const std::size_t headers_end = body.find("\r\n\r\n", pos);
    if (headers_end == absl::string_view::npos) return std::nullopt;
    FormPart part;
    for (absl::string_view line :
         absl::StrSplit(body.substr(pos, headers_end - pos), "\r\n")) {
      const std::size_t colon = line.find(':');
      if (colon == absl::string_view::npos) return std::nullopt;
      const std::string name = absl::AsciiStrToLower(line.substr(0, colon));
      absl::string_view value =
          absl::StripAsciiWhitespace(line.substr(colon + 1));
      if (name == "content-disposition") {
        part.name = Parameter(value, "name");
        part.filename = Parameter(value, "filename");
      } else if (name == "content-type") {
        part.content_type = std::string(value);
      }
    }
    const std::size_t data_start = headers_end + 4;
    const std::size_t next =
        body.find(absl::StrCat("\r\n", delimiter), data_start);
    if (next == absl::string_view::npos) return std::nullopt;
    part.value = std::string(body.substr(data_start, next - data_start));
    parts.push_back(std::move(part));
    pos = next + 2;
  }
}

nlohmann::json AudioProbe::ToJson() const {
  return {{"format", format},     {"sample_rate", sample_rate},
          {"channels", channels}, {"bits_per_sample", bits_per_sample},
          {"frames", frames},     {"duration_seconds", duration_seconds},
          {"crc32", crc32},       {"bytes", bytes}};
}

AudioProbe ProbeAudio(absl::string_view bytes) {
  AudioProbe probe;
  probe.bytes = static_cast<int64_t>(bytes.size());
  probe.format = "other";
  probe.crc32 = Crc32(bytes);
  if (bytes.size() < 12 || bytes.substr(0, 4) != "RIFF" ||
      bytes.substr(8, 4) != "WAVE") {
    return probe;
  }
  std::size_t pos = 12;
  while (pos + 8 <= bytes.size()) {
    const absl::string_view id = bytes.substr(pos, 4);
    const uint32_t size = ReadLe(bytes, pos + 4, 4);
    const std::size_t data = pos + 8;
    if (id == "fmt " && data + 16 <= bytes.size()) {
      probe.channels = static_cast<int>(ReadLe(bytes, data + 2, 2));
      probe.sample_rate = static_cast<int>(ReadLe(bytes, data + 4, 4));
      probe.bits_per_sample = static_cast<int>(ReadLe(bytes, data + 14, 2));
    } else if (id == "data") {
      const absl::string_view pcm = bytes.substr(data, size);
      probe.format = "wav";
      probe.crc32 = Crc32(pcm);
      const int frame_bytes = probe.channels * probe.bits_per_sample / 8;
      if (frame_bytes > 0)
        probe.frames = static_cast<int64_t>(pcm.size()) / frame_bytes;
      if (probe.sample_rate > 0) {
        probe.duration_seconds =
            static_cast<double>(probe.frames) / probe.sample_rate;
      }
      return probe;
    }
    pos = data + size + (size & 1);
  }
  return probe;
}

}  // namespace voxgate::testing
