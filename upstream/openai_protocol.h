#ifndef VOXGATE_UPSTREAM_OPENAI_PROTOCOL_H_
#define VOXGATE_UPSTREAM_OPENAI_PROTOCOL_H_

// The OpenAI-compatible wire formats: request building and response parsing for
// /v1/audio/transcriptions, /v1/chat/completions (text and input_audio) and
// /v1/models, as OpenAI, vLLM, llama-server, Ollama, speaches and whisper.cpp
// speak them. Pure functions; thread-compatible.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "upstream/http_client.h"
#include "upstream/sse_parser.h"
#include "upstream/types.h"

namespace voxgate::upstream {

// The default system prompt of chat_audio transcription requests.
inline constexpr char kDefaultTranscribeSystemPrompt[] =
    "You are a helpful assistant that transcribes audio.";

// POST {base_url}/audio/transcriptions (or /audio/translations) as multipart.
// response_format is verbose_json when segments or words are wanted, else json;
// `stream` adds stream=true. `model` replaces an empty request.model.
HttpRequest TranscriptionHttpRequest(const std::string& base_url,
                                     const TranscriptionRequest& request,
                                     const std::string& model,
                                     bool stream = false);

// Parses a json or verbose_json transcription body. INTERNAL when it is not
// one.
absl::StatusOr<Transcription> ParseTranscription(absl::string_view body);

// Turns a transcription into a chat_audio request: the system prompt, then a
// user message with an instruction and the audio as input_audio.
ChatRequest ChatAudioTranscriptionRequest(const TranscriptionRequest& request,
                                          const std::string& system_prompt);

// POST {base_url}/chat/completions with a JSON body; `stream` asks for SSE with
// stream_options.include_usage. `model` replaces an empty request.model.
// INVALID_ARGUMENT when json_schema is not JSON.
absl::StatusOr<HttpRequest> ChatHttpRequest(const std::string& base_url,
                                            const ChatRequest& request,
                                            const std::string& model,
                                            bool stream);

// Parses a chat.completion body. INTERNAL when it is not one.
absl::StatusOr<ChatCompletion> ParseChatCompletion(absl::string_view body);

// GET {base_url}/models and its parsed model ids.
HttpRequest ModelsHttpRequest(const std::string& base_url);
absl::StatusOr<std::vector<std::string>> ParseModelList(absl::string_view body);

// Decodes the SSE events of a streamed chat completion.
class ChatStreamDecoder {
 public:
  // Appends what `event` carries to `deltas`. INTERNAL on a payload that is not
  // a chat.completion.chunk; for an error object, the status of its HTTP
  // `code` when it has one (see HttpErrorStatus), else UNAVAILABLE.
  absl::Status Decode(const SseEvent& event, std::vector<ChatDelta>& deltas);
  // "[DONE]" was seen.
  bool done() const { return done_; }

 private:
  bool done_ = false;
};

// Decodes streamed transcriptions: OpenAI's transcript.text.delta/.done events
// and vLLM's transcription.chunk objects.
class TranscriptionStreamDecoder {
 public:
  // Appends text deltas to `deltas`; sets `final` when the stream says it is
  // complete (OpenAI's .done event, vLLM's [DONE]).
  absl::Status Decode(const SseEvent& event, std::vector<std::string>& deltas,
                      std::optional<Transcription>& final);

 private:
  std::string text_;  // accumulated deltas, for vLLM which sends no final text
  Usage usage_;
};

// The status for an HTTP error answer: 400/413/415/422 INVALID_ARGUMENT,
// 401/403 FAILED_PRECONDITION (the gateway's credentials), 404 NOT_FOUND,
// 408/429 RESOURCE_EXHAUSTED, 501 and a 500 saying something is not supported
// FAILED_PRECONDITION (a capability the server lacks), other 500 INTERNAL,
// other 5xx UNAVAILABLE, anything else INTERNAL. The message names `where`,
// the status and an excerpt of the upstream's error message.
absl::Status HttpErrorStatus(absl::string_view where, int status_code,
                             absl::string_view body);

// Whether an upstream's error message says it lacks a capability ("audio input
// is not supported").
bool SaysCapabilityIsMissing(absl::string_view detail);

// Whether an HTTP status is worth another attempt (429, 502, 503, 504).
bool IsRetryableHttpStatus(int status_code);

// The first `max_bytes` of `text` as one printable line, for error messages.
std::string Excerpt(absl::string_view text, std::size_t max_bytes = 200);

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_OPENAI_PROTOCOL_H_
