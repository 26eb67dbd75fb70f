#include "server/stream_transcribe_call.h"

#include "common/proto_duration.h"
#include "server/wire_messages.h"

namespace voxgate::server {

StreamTranscribeCall::StreamTranscribeCall(
    grpc::CallbackServerContext* context, const call::CallServices& services,
    const operations::OperationServices& operations)
    : SessionCall(context, call::kStreamTranscribe, services,
                  ToAbsl(operations.config.limits().stream_idle_timeout()),
                  operations.timers),
      operations_(operations) {}

std::shared_ptr<operations::StreamSession> StreamTranscribeCall::MakeSession() {
  return std::make_shared<operations::StreamSession>(
      operations_.config, operations_.routing, operations_.workers, metrics_,
      call_, *this);
}

void StreamTranscribeCall::Receive(operations::StreamSession& session,
                                   grpc::ByteBuffer& message) {
  if (absl::Status parsed = ParseMessage(message, request_); !parsed.ok()) {
    return session.Fail(parsed);
  }
  switch (request_.request_case()) {
    case v1::StreamTranscribeRequest::kConfig:
      return session.Configure(request_.config());
    case v1::StreamTranscribeRequest::kAudio:
      return session.Push(std::move(*request_.mutable_audio()), false);
    case v1::StreamTranscribeRequest::kControl:
      if (request_.control() != v1::STREAM_CONTROL_FINALIZE_UTTERANCE) {
        return session.Fail(
            absl::InvalidArgumentError("control: unknown action"));
      }
      return session.Push("", true);
    default:
      return session.Fail(absl::InvalidArgumentError(
          "a message must carry config, audio or control"));
  }
}

TranscribeUploadCall::TranscribeUploadCall(
    grpc::CallbackServerContext* context, const call::CallServices& services,
    const operations::OperationServices& operations)
    : SessionCall(context, call::kTranscribeUpload, services,
                  ToAbsl(operations.config.limits().stream_idle_timeout()),
                  operations.timers),
      operations_(operations) {}

std::shared_ptr<operations::UploadSession> TranscribeUploadCall::MakeSession() {
  return std::make_shared<operations::UploadSession>(operations_, call_, pool_,
                                                     *this);
}

void TranscribeUploadCall::Receive(operations::UploadSession& session,
                                   grpc::ByteBuffer& message) {
  if (absl::Status parsed = ParseMessage(message, request_); !parsed.ok()) {
    return session.Fail(parsed);
  }
  switch (request_.request_case()) {
    case v1::TranscribeUploadRequest::kConfig:
      return session.Configure(request_.config());
    case v1::TranscribeUploadRequest::kAudioContent:
      return session.Push(std::move(*request_.mutable_audio_content()));
    default:
      return session.Fail(absl::InvalidArgumentError(
          "a message must carry config or audio_content"));
  }
}

}  // namespace voxgate::server
