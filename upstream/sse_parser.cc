#include "upstream/sse_parser.h"

#include "absl/strings/strip.h"

namespace voxgate::upstream {

void SseParser::Feed(absl::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (skip_lf_) {
      skip_lf_ = false;
      if (c == '\n') continue;
    }
    if (c == '\r' || c == '\n') {
      skip_lf_ = c == '\r';
      ProcessLine(line_);
      line_.clear();
      continue;
    }
    // Copy the run up to the next line end at once.
    std::size_t end = i;
    while (end < bytes.size() && bytes[end] != '\r' && bytes[end] != '\n')
      ++end;
    line_.append(bytes.data() + i, end - i);
    i = end - 1;
  }
}

void SseParser::ProcessLine(absl::string_view line) {
  if (at_stream_start_) {
    at_stream_start_ = false;
    absl::ConsumePrefix(&line, "\xEF\xBB\xBF");  // UTF-8 byte order mark
  }
  if (line.empty()) {
    if (has_data_) {
      pending_.id = last_id_;
      on_event_(pending_);
    }
    pending_ = SseEvent();
    has_data_ = false;
    return;
  }
  if (line[0] == ':') return;  // comment, often a keep-alive
  absl::string_view field = line;
  absl::string_view value;
  if (const std::size_t colon = line.find(':');
      colon != absl::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    absl::ConsumePrefix(&value, " ");
  }
  if (field == "data") {
    if (has_data_) pending_.data.push_back('\n');
    pending_.data.append(value.data(), value.size());
    has_data_ = true;
  } else if (field == "event") {
    pending_.type = std::string(value);
  } else if (field == "id") {
    if (value.find('\0') == absl::string_view::npos)
      last_id_ = std::string(value);
  }
}

}  // namespace voxgate::upstream
