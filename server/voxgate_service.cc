#include "server/voxgate_service.h"

#include <string>

#include "server/grpc_status.h"

namespace voxgate::server {
namespace {

using StreamTranscribeReactor =
    grpc::ServerBidiReactor<v1::StreamTranscribeRequest,
                            v1::StreamTranscribeResponse>;

grpc::Status NotBuiltYet(const char* method) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      std::string("voxgate.v1.VoxgateService/") + method +
                          " is not implemented in this build yet");
}

grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* context,
                                      const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

// Finishes a streaming call at once with `status`.
template <typename Reactor>
class ImmediateFinish final : public Reactor {
 public:
  explicit ImmediateFinish(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerUnaryReactor* VoxgateServiceImpl::Transcribe(
    grpc::CallbackServerContext* context, const v1::TranscribeRequest*,
    v1::TranscribeResponse*) {
  absl::Status admitted = admission_.Admit();
  return FinishUnary(context, admitted.ok() ? NotBuiltYet("Transcribe")
                                            : ToGrpcStatus(admitted));
}

grpc::ServerUnaryReactor* VoxgateServiceImpl::Analyze(
    grpc::CallbackServerContext* context, const v1::AnalyzeRequest*,
    v1::AnalyzeResponse*) {
  absl::Status admitted = admission_.Admit();
  return FinishUnary(
      context, admitted.ok() ? NotBuiltYet("Analyze") : ToGrpcStatus(admitted));
}

grpc::ServerUnaryReactor* VoxgateServiceImpl::Chat(
    grpc::CallbackServerContext* context, const v1::ChatRequest*,
    v1::ChatResponse*) {
  absl::Status admitted = admission_.Admit();
  return FinishUnary(
      context, admitted.ok() ? NotBuiltYet("Chat") : ToGrpcStatus(admitted));
}

grpc::ServerWriteReactor<v1::ChatChunk>* VoxgateServiceImpl::ChatStream(
    grpc::CallbackServerContext*, const v1::ChatRequest*) {
  absl::Status admitted = admission_.Admit();
  return new ImmediateFinish<grpc::ServerWriteReactor<v1::ChatChunk>>(
      admitted.ok() ? NotBuiltYet("ChatStream") : ToGrpcStatus(admitted));
}

StreamTranscribeReactor* VoxgateServiceImpl::StreamTranscribe(
    grpc::CallbackServerContext*) {
  absl::Status admitted = admission_.Admit();
  return new ImmediateFinish<StreamTranscribeReactor>(
      admitted.ok() ? NotBuiltYet("StreamTranscribe") : ToGrpcStatus(admitted));
}

grpc::ServerUnaryReactor* VoxgateServiceImpl::ListModels(
    grpc::CallbackServerContext* context, const v1::ListModelsRequest*,
    v1::ListModelsResponse* response) {
  absl::Status admitted = admission_.Admit();
  if (admitted.ok()) *response = models_;
  return FinishUnary(context, ToGrpcStatus(admitted));
}

}  // namespace voxgate::server
