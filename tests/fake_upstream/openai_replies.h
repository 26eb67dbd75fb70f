#ifndef VOXGATE_TESTS_FAKE_UPSTREAM_OPENAI_REPLIES_H_
#define VOXGATE_TESTS_FAKE_UPSTREAM_OPENAI_REPLIES_H_

// Response bodies shaped exactly as OpenAI, vLLM and llama-server send them.

#include <optional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace voxgate::testing {

// The words of `text`, each with its trailing space, so that joining them gives
// back `text`.
std::vector<std::string> Tokens(const std::string& text);

// /v1/audio/transcriptions, non-streaming, in `format` (json, verbose_json,
// text, srt, vtt). Words are spread evenly over the duration.
std::string TranscriptionBody(const std::string& format,
                              const std::string& text, double duration_seconds,
                              bool with_words, bool with_segments);

// The SSE `data:` payloads of a streaming transcription, in order, "[DONE]"
// last for vLLM.
std::vector<std::string> TranscriptionStreamEvents(const std::string& style,
                                                   const std::string& model,
                                                   const std::string& text,
                                                   double duration_seconds);

struct ChatUsage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
};

// A tool call the fake asks for: when a request declares tools and its last
// message is not a tool result, it calls the chosen (or first) tool with
// {"text": <the last user text>}.
struct FakeToolCall {
  std::string id;
  std::string name;
  std::string arguments;
};

// The tool call a chat request body gets, or none (no tools, tool_choice
// "none", or a tool result to answer).
std::optional<FakeToolCall> ToolCallFor(const nlohmann::json& request,
                                        const std::string& user_text);

// /v1/chat/completions answering with a tool call.
std::string ToolCallCompletionBody(const std::string& model,
                                   const FakeToolCall& call,
                                   const ChatUsage& usage);
// The same streamed: the call's id and name first, its arguments in two pieces.
std::vector<std::string> ToolCallStreamEvents(const std::string& model,
                                              const FakeToolCall& call,
                                              const ChatUsage& usage,
                                              bool include_usage);

// /v1/chat/completions, non-streaming.
std::string ChatCompletionBody(const std::string& model,
                               const std::string& text, const ChatUsage& usage);

// The SSE `data:` payloads of a streaming chat completion, "[DONE]" last.
std::vector<std::string> ChatStreamEvents(const std::string& model,
                                          const std::string& text,
                                          const ChatUsage& usage,
                                          bool include_usage);

// {"error": {...}} as OpenAI sends with a non-2xx status.
std::string ErrorBody(int status, const std::string& message);

}  // namespace voxgate::testing

#endif  // VOXGATE_TESTS_FAKE_UPSTREAM_OPENAI_REPLIES_H_
