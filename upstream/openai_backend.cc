#include "upstream/openai_backend.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "upstream/openai_protocol.h"
#include "upstream/sse_parser.h"

namespace voxgate::upstream {
namespace {

// Turns a streamed chat completion into deltas for a ChatStreamObserver.
class ChatStreamAdapter final : public ResponseObserver {
 public:
  ChatStreamAdapter(std::string pool,
                    std::shared_ptr<ChatStreamObserver> observer)
      : pool_(std::move(pool)),
        observer_(std::move(observer)),
        parser_([this](const SseEvent& event) { OnEvent(event); }) {}

  void OnHeaders(int status_code, const HttpHeaders&) override {
    status_code_ = status_code;
  }

  bool OnData(absl::string_view data) override {
    if (status_code_ < 200 || status_code_ >= 300) {
      error_body_.append(data.data(), data.size());
      return true;
    }
    if (!error_.ok()) return true;  // drain after a protocol error
    keep_going_ = true;
    parser_.Feed(data);
    return keep_going_;
  }

  void OnDone(absl::Status status) override {
    if (status.ok() && (status_code_ < 200 || status_code_ >= 300)) {
      status = HttpErrorStatus(absl::StrCat("pool ", pool_), status_code_,
                               error_body_);
    } else if (status.ok() && !error_.ok()) {
      status = error_;
    } else if (status.ok() && !decoder_.done() && !finished_) {
      status = absl::UnavailableError(
          absl::StrCat("pool ", pool_,
                       ": upstream closed the stream before its last chunk"));
    }
    observer_->OnDone(std::move(status));
  }

 private:
  void OnEvent(const SseEvent& event) {
    if (!error_.ok()) return;
    std::vector<ChatDelta> deltas;
    error_ = decoder_.Decode(event, deltas);
    for (const ChatDelta& delta : deltas) {
      if (!delta.finish_reason.empty()) finished_ = true;
      if (!observer_->OnDelta(delta)) keep_going_ = false;
    }
  }

  const std::string pool_;
  std::shared_ptr<ChatStreamObserver> observer_;
  SseParser parser_;
  ChatStreamDecoder decoder_;
  int status_code_ = 0;
  std::string error_body_;
  absl::Status error_;
  bool finished_ = false;
  bool keep_going_ = true;
};

}  // namespace

std::shared_ptr<Transfer> OpenAiBackend::Fetch(
    const CallOptions& options, RequestBuilder build,
    std::function<void(absl::StatusOr<std::string>)> done) {
  std::string pool = context_.pool.name();
  return StartWithRetries(
      context_, options, std::move(build),
      MakeBufferingObserver([pool, done = std::move(done)](
                                absl::StatusOr<HttpResponse> response) {
        if (!response.ok()) {
          done(response.status());
        } else if (response->status_code < 200 ||
                   response->status_code >= 300) {
          done(HttpErrorStatus(absl::StrCat("pool ", pool),
                               response->status_code, response->body));
        } else {
          done(std::move(response->body));
        }
      }));
}

std::shared_ptr<Transfer> OpenAiBackend::Transcribe(
    TranscriptionRequest request, const CallOptions& options,
    TranscriptionBackend::Done done) {
  if (options_.protocol == OpenAiProtocol::kTranscriptions) {
    auto shared = std::make_shared<TranscriptionRequest>(std::move(request));
    return Fetch(
        options,
        [shared, model = options_.default_model](
            const std::string& url) -> absl::StatusOr<HttpRequest> {
          return TranscriptionHttpRequest(url, *shared, model);
        },
        [done = std::move(done)](absl::StatusOr<std::string> body) {
          if (!body.ok()) return done(body.status());
          done(ParseTranscription(*body));
        });
  }
  auto chat = std::make_shared<ChatRequest>(ChatAudioTranscriptionRequest(
      request, options_.transcribe_system_prompt));
  return Fetch(
      options,
      [chat, model = options_.default_model](const std::string& url) {
        return ChatHttpRequest(url, *chat, model, /*stream=*/false);
      },
      [done = std::move(done)](absl::StatusOr<std::string> body) {
        if (!body.ok()) return done(body.status());
        absl::StatusOr<ChatCompletion> completion = ParseChatCompletion(*body);
        if (!completion.ok()) return done(completion.status());
        Transcription transcription;
        transcription.text =
            std::string(absl::StripAsciiWhitespace(completion->content));
        transcription.usage = completion->usage;
        transcription.model = completion->model;
        done(std::move(transcription));
      });
}

std::shared_ptr<Transfer> OpenAiBackend::Complete(ChatRequest request,
                                                  const CallOptions& options,
                                                  ChatBackend::Done done) {
  auto shared = std::make_shared<ChatRequest>(std::move(request));
  return Fetch(
      options,
      [shared, model = options_.default_model](const std::string& url) {
        return ChatHttpRequest(url, *shared, model, /*stream=*/false);
      },
      [done = std::move(done)](absl::StatusOr<std::string> body) {
        if (!body.ok()) return done(body.status());
        done(ParseChatCompletion(*body));
      });
}

std::shared_ptr<Transfer> OpenAiBackend::Stream(
    ChatRequest request, const CallOptions& options,
    std::shared_ptr<ChatStreamObserver> observer) {
  auto shared = std::make_shared<ChatRequest>(std::move(request));
  return StartWithRetries(
      context_, options,
      [shared, model = options_.default_model](const std::string& url) {
        return ChatHttpRequest(url, *shared, model, true);
      },
      std::make_shared<ChatStreamAdapter>(context_.pool.name(),
                                          std::move(observer)));
}

std::shared_ptr<Transfer> OpenAiBackend::ListModels(
    const CallOptions& options,
    std::function<void(absl::StatusOr<std::vector<std::string>>)> done) {
  return Fetch(
      options,
      [](const std::string& url) -> absl::StatusOr<HttpRequest> {
        return ModelsHttpRequest(url);
      },
      [done = std::move(done)](absl::StatusOr<std::string> body) {
        if (!body.ok()) return done(body.status());
        done(ParseModelList(*body));
      });
}

}  // namespace voxgate::upstream
