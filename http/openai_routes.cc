#include <sys/resource.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/json_limits.h"
#include "common/proto_duration.h"
#include "http/browser_guard.h"
#include "http/chat_sse.h"
#include "http/front_door.h"
#include "http/front_door_guarded.h"
#include "http/handler_boundary.h"
#include "http/http_errors.h"
#include "http/multipart.h"
#include "http/openai_json.h"
#include "http/openai_transcription_form.h"
#include "http/static_assets.h"
#include "http/stream_socket.h"
#include "operations/chat_operation.h"
#include "operations/model_catalog.h"
#include "operations/transcribe_operation.h"
namespace voxgate::http {
namespace {

using call::kChat;
using call::kChatStream;
using call::kListModels;
using call::kTranscribe;

// What the unary chat keeps alive while it runs.
struct ChatState {
  std::shared_ptr<HttpCall> call;
  v1::ChatRequest request;
  std::optional<operations::ChatOperation> operation;
};

}  // namespace

void HttpFrontDoor::HandleChat(const std::shared_ptr<HttpExchange>& exchange) {
  absl::StatusOr<OpenAiChatRequest> parsed =
      ChatRequestFromJson(exchange->request().body);
  const bool stream =
      parsed.ok() ? parsed->stream : AsksForStream(exchange->request().body);
  auto call = std::make_shared<HttpCall>(exchange->request(),
                                         stream ? kChatStream : kChat,
                                         stream ? streams_ : unary_, live_);
  if (!parsed.ok()) return Fail(*exchange, *call, parsed.status());
  exchange->OnClientClosed([weak = std::weak_ptr<HttpCall>(call)] {
    if (auto alive = weak.lock()) alive->Cancel();
  });
  const int64_t bytes = static_cast<int64_t>(exchange->request().body.size());
  if (stream) {
    auto sse = std::make_shared<ChatSse>(exchange, call, parsed->include_usage,
                                         operations_);
    auto request = std::make_shared<v1::ChatRequest>(std::move(parsed->chat));
    return call->Admit(
        bytes,
        Guarded(exchange, call,
                [sse, request, exchange, call](absl::Status admitted) {
                  if (!admitted.ok()) return sse->Refuse(admitted);
                  sse->Start(*request);
                }),
        request->model());
  }
  auto state = std::make_shared<ChatState>();
  state->call = call;
  state->request = std::move(parsed->chat);
  call->Admit(
      bytes,
      Guarded(exchange, call,
              [this, state, exchange](absl::Status admitted) {
                if (!admitted.ok())
                  return Fail(*exchange, *state->call, admitted);
                state->operation.emplace(operations_, state->call->scope());
                state->operation->Start(
                    state->request,
                    Guarded(exchange, state->call,
                            [this, state, exchange](
                                absl::StatusOr<v1::ChatResponse> answer) {
                              const absl::Status ended =
                                  state->call->End(answer.status());
                              if (!answer.ok()) {
                                return Fail(*exchange, *state->call, ended);
                              }
                              HttpResponse response;
                              response.body = DumpJson(ChatCompletionJson(
                                  *answer, absl::ToUnixSeconds(absl::Now())));
                              response.headers = state->call->ResponseHeaders();
                              Send(*exchange, std::move(response));
                            }));
              }),
      state->request.model());
}

void HttpFrontDoor::HandleTranscription(
    const std::shared_ptr<HttpExchange>& exchange, bool translate) {
  HttpRequest& request = exchange->mutable_request();
  auto call = std::make_shared<HttpCall>(request, kTranscribe, unary_, live_);
  absl::StatusOr<std::vector<FormPart>> parts =
      ParseFormData(request.Header("content-type").value_or(""), request.body);
  if (!parts.ok()) return Fail(*exchange, *call, parts.status());
  absl::StatusOr<TranscriptionForm> fields =
      TranscriptionFormFromParts(*parts, request.body);
  if (!fields.ok()) return Fail(*exchange, *call, fields.status());
  auto form = std::make_shared<TranscriptionForm>(*std::move(fields));
  const FormPart& file = (*parts)[form->file_part];
  absl::StatusOr<v1::RecognitionConfig> recognition =
      RecognitionFromForm(*form, translate);
  if (!recognition.ok()) return Fail(*exchange, *call, recognition.status());
  const int64_t bytes = static_cast<int64_t>(request.body.size());
  auto transcribe = std::make_shared<v1::TranscribeRequest>();
  *transcribe->mutable_config() = *std::move(recognition);
  // The upload's one copy becomes the audio: the other parts are cut away
  // in place.
  KeepOnly(file, request.body);
  transcribe->mutable_audio()->set_content(std::move(request.body));
  exchange->OnClientClosed([weak = std::weak_ptr<HttpCall>(call)] {
    if (auto alive = weak.lock()) alive->Cancel();
  });
  const std::string model = transcribe->config().model();
  call->Admit(
      bytes,
      Guarded(exchange, call,
              [this, call, exchange, form, transcribe,
               translate](absl::Status admitted) {
                if (!admitted.ok()) return Fail(*exchange, *call, admitted);
                operations::StartTranscribe(
                    operations_, std::move(*transcribe), call->scope(),
                    Guarded(
                        exchange, call,
                        [this, call, exchange, form, translate](
                            absl::StatusOr<v1::TranscribeResponse> answer) {
                          const absl::Status ended = call->End(answer.status());
                          if (!answer.ok()) {
                            return Fail(*exchange, *call, ended);
                          }
                          TranscriptionBody body = TranscriptionResponseBody(
                              *answer, *form, translate);
                          HttpResponse response;
                          response.content_type = std::move(body.content_type);
                          response.body = std::move(body.body);
                          response.headers = call->ResponseHeaders();
                          Send(*exchange, std::move(response));
                        }));
              }),
      model);
}

void HttpFrontDoor::HandleModels(
    const std::shared_ptr<HttpExchange>& exchange) {
  auto call = std::make_shared<HttpCall>(exchange->request(), kListModels,
                                         unary_, live_);
  call->Admit(
      0, Guarded(exchange, call, [this, call, exchange](absl::Status admitted) {
        if (!admitted.ok()) {
          return Fail(*exchange, *call, admitted);
        }
        const v1::ListModelsResponse models =
            operations::CurrentModels(catalog_, operations_.routing);
        (void)call->End(absl::OkStatus());
        HttpResponse response;
        response.body = DumpJson(ModelsJson(models));
        response.headers = call->ResponseHeaders();
        Send(*exchange, std::move(response));
      }));
}
}  // namespace voxgate::http
