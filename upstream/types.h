#ifndef VOXGATE_UPSTREAM_TYPES_H_
#define VOXGATE_UPSTREAM_TYPES_H_

// What the upstream layer takes and returns, independent of the public API and
// of any one model server's wire format.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace voxgate::upstream {

struct Usage {
  double audio_seconds = 0;
  int64_t input_tokens = 0;
  int64_t audio_tokens = 0;
  int64_t output_tokens = 0;
  int64_t total_tokens = 0;
};

struct Word {
  std::string word;
  double start_seconds = 0;
  double end_seconds = 0;
  float confidence = 0;  // 0 when the backend gives none
};

struct Segment {
  double start_seconds = 0;
  double end_seconds = 0;
  std::string text;
  float avg_logprob = 0;
  float no_speech_prob = 0;
};

// A transcription of one piece of audio; times from its start.
struct Transcription {
  std::string text;
  std::string
      language;  // as the backend names it ("english", "en"); may be empty
  double duration_seconds = 0;
  std::vector<Segment> segments;
  std::vector<Word> words;
  Usage usage;
  std::string model;
};

struct TranscriptionRequest {
  // Encoded audio and its format as the backend will see it ("wav", "mp3",
  // ...).
  std::string audio;
  std::string audio_format = "wav";
  // Empty: the pool's default model.
  std::string model;
  // ISO-639-1 or BCP-47; empty: detect.
  std::string language;
  std::string prompt;
  std::optional<float> temperature;
  bool translate = false;
  bool want_segments = false;
  bool want_words = false;
  // Extra multipart fields (vLLM "hotwords", whisper.cpp thresholds, ...).
  std::vector<std::pair<std::string, std::string>> extra_fields;
};

struct ChatPart {
  enum class Kind { kText, kAudio, kImageUrl };
  Kind kind = Kind::kText;
  std::string text;          // kText
  std::string audio;         // kAudio: encoded bytes
  std::string audio_format;  // kAudio: "wav" or "mp3"
  std::string url;           // kImageUrl
  std::string detail;        // kImageUrl

  static ChatPart Text(std::string text) {
    ChatPart part;
    part.text = std::move(text);
    return part;
  }
  static ChatPart Audio(std::string bytes, std::string format) {
    ChatPart part;
    part.kind = Kind::kAudio;
    part.audio = std::move(bytes);
    part.audio_format = std::move(format);
    return part;
  }
};

// A function call the model asked for (OpenAI tool_calls[] of type function).
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // as the model wrote them, usually a JSON object
};

// A piece of a streamed tool call: the first piece of an index names the call,
// later ones append to its arguments.
struct ToolCallDelta {
  int index = 0;
  std::string id;
  std::string name;
  std::string arguments;
};

// A function the model may call.
struct ToolSpec {
  std::string name;
  std::string description;
  std::string parameters_json;  // a JSON Schema object; empty: none
  bool strict = false;
};

struct ChatMessage {
  std::string role;             // system, user, assistant, tool, developer
  std::vector<ChatPart> parts;  // may be empty on an assistant's tool calls
  std::string name;
  std::string tool_call_id;
  std::vector<ToolCall> tool_calls;  // assistant turns only

  static ChatMessage Of(std::string role, std::vector<ChatPart> parts) {
    ChatMessage message;
    message.role = std::move(role);
    message.parts = std::move(parts);
    return message;
  }
};

// Real-valued parameters are doubles holding the decimal value the caller
// meant (0.7, not float 0.7 widened to 0.699999988), since they are sent as
// JSON text.
struct ChatParams {
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int> max_tokens;
  std::vector<std::string> stop;
  std::optional<int64_t> seed;
  std::optional<double> presence_penalty;
  std::optional<double> frequency_penalty;
  // "", "text", "json_object" or "json_schema".
  std::string response_format;
  std::string json_schema_name;
  std::string json_schema;  // a JSON document
  bool json_schema_strict = false;
  // Extra top-level request fields; values that parse as JSON are sent as JSON.
  std::vector<std::pair<std::string, std::string>> extra;
};

struct ChatRequest {
  std::string model;  // empty: the pool's default
  std::vector<ChatMessage> messages;
  ChatParams params;
  std::vector<ToolSpec> tools;
  // "", "auto", "none" or "required"; or a function name in
  // tool_choice_function.
  std::string tool_choice;
  std::string tool_choice_function;
  std::optional<bool> parallel_tool_calls;
};

struct ChatCompletion {
  std::string content;
  // "stop", "length", "content_filter", "tool_calls" or "" when not given.
  std::string finish_reason;
  Usage usage;
  std::string model;
  std::vector<ToolCall> tool_calls;
};

// One piece of a streamed chat reply.
struct ChatDelta {
  std::string content;
  std::string finish_reason;  // set on the last delta with content semantics
  std::optional<Usage> usage;
  std::string model;
  std::vector<ToolCallDelta> tool_calls;
};

// Per-call context every upstream request carries.
// The endpoints a call's upstream requests went to, for its log line.
// Thread-safe: a call's chunks run side by side.
class EndpointTrace {
 public:
  void Add(const std::string& url) {
    absl::MutexLock lock(&mu_);
    if (urls_.size() < 8 &&
        std::find(urls_.begin(), urls_.end(), url) == urls_.end()) {
      urls_.push_back(url);
    }
  }
  std::vector<std::string> urls() const {
    absl::MutexLock lock(&mu_);
    return urls_;
  }
  // Time spent waiting for a pool slot, which is queueing, not upstream time.
  void AddSlotWait(absl::Duration waited) {
    absl::MutexLock lock(&mu_);
    slot_wait_ += waited;
  }
  // The waits added since the last call.
  absl::Duration TakeSlotWait() {
    absl::MutexLock lock(&mu_);
    return std::exchange(slot_wait_, absl::ZeroDuration());
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> urls_ ABSL_GUARDED_BY(mu_);  // at most 8, distinct
  absl::Duration slot_wait_ ABSL_GUARDED_BY(mu_);
};

struct CallOptions {
  absl::Time deadline = absl::InfiniteFuture();
  // Sent upstream as x-request-id.
  std::string request_id;
  // Where each attempt's endpoint is noted; none when null.
  std::shared_ptr<EndpointTrace> endpoints = nullptr;
};

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_TYPES_H_
