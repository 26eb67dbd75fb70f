#include "server/voxgate_service.h"

#include <string>

#include "server/analyze_call.h"
#include "server/chat_call.h"
#include "server/chat_stream_call.h"
#include "server/grpc_status.h"
#include "server/model_catalog.h"
#include "server/stream_transcribe_call.h"
#include "server/transcribe_call.h"

namespace voxgate::server {
namespace {

using StreamTranscribeReactor =
    grpc::ServerBidiReactor<v1::StreamTranscribeRequest,
                            v1::StreamTranscribeResponse>;

}  // namespace

VoxgateServiceImpl::VoxgateServiceImpl(
    const Config& config, upstream::Upstreams& upstreams,
    WorkerPool& workers, Admission& admission, const Logger& logger,
    CallMetrics& metrics, TimerQueue& timers,
    StreamSlots& stream_slots)
    : config_(config),
      upstreams_(upstreams),
      workers_(workers),
      admission_(admission),
      logger_(logger),
      metrics_(metrics),
      timers_(timers),
      stream_slots_(stream_slots),
      catalog_(BuildModelCatalog(config)) {}

grpc::ServerUnaryReactor* VoxgateServiceImpl::Transcribe(
    grpc::CallbackServerContext* context, const v1::TranscribeRequest* request,
    v1::TranscribeResponse* response) {
  auto* call =
      new TranscribeCall(context, request, response, config_, upstreams_,
                         workers_, logger_, admission_, metrics_);
  call->Begin();
  return call;
}

grpc::ServerUnaryReactor* VoxgateServiceImpl::Analyze(
    grpc::CallbackServerContext* context, const v1::AnalyzeRequest* request,
    v1::AnalyzeResponse* response) {
  auto* call = new AnalyzeCall(context, request, response, config_, upstreams_,
                               workers_, logger_, admission_, metrics_);
  call->Begin();
  return call;
}

grpc::ServerUnaryReactor* VoxgateServiceImpl::Chat(
    grpc::CallbackServerContext* context, const v1::ChatRequest* request,
    v1::ChatResponse* response) {
  auto* call = new ChatCall(context, request, response, config_, upstreams_,
                            workers_, logger_, admission_, metrics_);
  call->Begin();
  return call;
}

grpc::ServerWriteReactor<v1::ChatChunk>* VoxgateServiceImpl::ChatStream(
    grpc::CallbackServerContext* context, const v1::ChatRequest* request) {
  auto* call = new ChatStreamCall(context, request, upstreams_, logger_,
                                  admission_, metrics_);
  call->Begin();
  return call;
}

StreamTranscribeReactor* VoxgateServiceImpl::StreamTranscribe(
    grpc::CallbackServerContext* context) {
  auto* call =
      new StreamTranscribeCall(context, config_, upstreams_, workers_, logger_,
                               admission_, metrics_, timers_, stream_slots_);
  call->Begin();
  return call;
}

grpc::ServerUnaryReactor* VoxgateServiceImpl::ListModels(
    grpc::CallbackServerContext* context, const v1::ListModelsRequest*,
    v1::ListModelsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  metrics_.Started("ListModels");
  if (admission_.draining()) {
    metrics_.Handled("ListModels", absl::StatusCode::kUnavailable,
                     absl::ZeroDuration(), absl::ZeroDuration());
    reactor->Finish(ToGrpcStatus(absl::UnavailableError(
        "voxgate is draining for shutdown; retry on another replica")));
    return reactor;
  }
  *response = catalog_;
  const std::map<std::string, bool> available = upstreams_.PoolAvailability();
  for (v1::ModelInfo& model : *response->mutable_models()) {
    auto it = available.find(model.pool());
    model.set_available(it == available.end() || it->second);
  }
  metrics_.Handled("ListModels", absl::StatusCode::kOk, absl::ZeroDuration(),
                   absl::ZeroDuration());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace voxgate::server
