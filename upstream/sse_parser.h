#ifndef VOXGATE_UPSTREAM_SSE_PARSER_H_
#define VOXGATE_UPSTREAM_SSE_PARSER_H_

#include <functional>
#include <string>

#include "absl/strings/string_view.h"

namespace voxgate::upstream {

// One Server-Sent Event (WHATWG HTML, "Interpreting an event stream").
struct SseEvent {
  // The `event:` field; "message" when absent.
  std::string type = "message";
  // The `data:` lines joined with "\n".
  std::string data;
  // The last `id:` seen in the stream.
  std::string id;
};

// Incremental parser: feed bytes split anywhere (inside a line, inside a CRLF),
// receive each event when its blank line arrives. Comments (":"), `retry:` and
// unknown fields are skipped; an event without data is not dispatched.
// Thread-compatible.
class SseParser {
 public:
  using EventCallback = std::function<void(const SseEvent&)>;

  explicit SseParser(EventCallback on_event) : on_event_(std::move(on_event)) {}

  void Feed(absl::string_view bytes);

  // Bytes held back waiting for the end of their line.
  std::size_t buffered_bytes() const { return line_.size(); }

 private:
  void ProcessLine(absl::string_view line);

  EventCallback on_event_;
  std::string line_;
  bool skip_lf_ =
      false;  // The previous chunk ended in CR; a leading LF belongs to it.
  bool at_stream_start_ = true;
  bool has_data_ = false;
  SseEvent pending_;
  std::string last_id_;
};

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_SSE_PARSER_H_
