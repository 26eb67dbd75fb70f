#ifndef VOXGATE_UPSTREAM_OPENAI_BACKEND_H_
#define VOXGATE_UPSTREAM_OPENAI_BACKEND_H_

#include <memory>
#include <string>

#include "upstream/backend.h"
#include "upstream/retrying_call.h"

namespace voxgate::upstream {

// Which OpenAI-compatible API a pool speaks.
enum class OpenAiProtocol {
  kTranscriptions,  // POST /audio/transcriptions
  kChatAudio,       // POST /chat/completions with input_audio (also text chat)
  kChat,            // POST /chat/completions, text
};

// A pool of OpenAI-compatible endpoints as a transcription and chat backend.
// Thread-safe.
class OpenAiBackend final : public TranscriptionBackend, public ChatBackend {
 public:
  struct Options {
    OpenAiProtocol protocol = OpenAiProtocol::kChat;
    // Sent when a request names no model; empty: no model field.
    std::string default_model;
    // System prompt of chat_audio transcriptions.
    std::string transcribe_system_prompt;
  };

  // `context.pool` and the rest must outlive the backend and its calls.
  OpenAiBackend(PoolContext context, Options options)
      : context_(std::move(context)), options_(std::move(options)) {}

  std::shared_ptr<Transfer> Transcribe(
      TranscriptionRequest request, const CallOptions& options,
      TranscriptionBackend::Done done) override;
  std::shared_ptr<Transfer> Complete(ChatRequest request,
                                     const CallOptions& options,
                                     ChatBackend::Done done) override;
  std::shared_ptr<Transfer> Stream(
      ChatRequest request, const CallOptions& options,
      std::shared_ptr<ChatStreamObserver> observer) override;
  // GET /models on one endpoint (with retries).
  std::shared_ptr<Transfer> ListModels(
      const CallOptions& options,
      std::function<void(absl::StatusOr<std::vector<std::string>>)> done);

  bool available() const override {
    return context_.pool.HasAvailableEndpoint();
  }
  bool returns_segments() const override {
    return options_.protocol == OpenAiProtocol::kTranscriptions;
  }
  bool returns_words() const override { return false; }
  const std::string& pool_name() const { return context_.pool.name(); }

 private:
  // Sends a buffered request built by `build` and hands the 2xx body to
  // `parse`, or the mapped error to `done`.
  std::shared_ptr<Transfer> Fetch(
      const CallOptions& options, RequestBuilder build,
      std::function<void(absl::StatusOr<std::string>)> done);

  const PoolContext context_;
  const Options options_;
};

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_OPENAI_BACKEND_H_
