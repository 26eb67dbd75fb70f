#include "server/voxgate_service.h"

#include "common/proto_duration.h"
#include "server/analyze_call.h"
#include "server/batch_call.h"
#include "server/chat_call.h"
#include "server/chat_stream_call.h"
#include "operations/model_catalog.h"
#include "server/stream_transcribe_call.h"
#include "server/transcribe_call.h"
#include "server/unary_call.h"
#include "voxgate/v1/models.pb.h"

namespace voxgate::server {
namespace {

// ListModels: the configured catalog with each pool's availability now. Goes
// through admission like every call, so draining, limits and (later) keys
// apply to it too.
class ListModelsCall final
    : public TypedUnaryCall<v1::ListModelsRequest, v1::ListModelsResponse> {
 public:
  ListModelsCall(grpc::CallbackServerContext* context,
                 const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
                 const call::CallServices& services,
                 const v1::ListModelsResponse& catalog,
                 const upstream::Routing& routing)
      : TypedUnaryCall(context, request, response,
                       call::kListModels, services),
        catalog_(catalog),
        routing_(routing) {}

 private:
  void Start() override {
    response_ = operations::CurrentModels(catalog_, routing_);
    Complete(absl::OkStatus());
  }

  const v1::ListModelsResponse& catalog_;
  const upstream::Routing& routing_;
};

call::CallServices WithDeadline(const call::CallServices& services,
                          const google::protobuf::Duration& deadline) {
  return {services.admission, services.logger, services.metrics,
          ToAbsl(deadline)};
}

}  // namespace

VoxgateServiceImpl::VoxgateServiceImpl(const Config& config,
                                       const call::CallServices& services,
                                       upstream::Routing& routing,
                                       WorkerPool& workers, TimerQueue& timers,
                                       operations::AudioFetcher* fetcher,
                                       operations::OperationStore* operations)
    : config_(config),
      unary_(WithDeadline(services, config.limits().default_unary_deadline())),
      streams_(
          WithDeadline(services, config.limits().default_stream_deadline())),
      routing_(routing),
      workers_(workers),
      timers_(timers),
      spool_budget_(config.audio().max_spool_bytes()),
      decoded_audio_budget_(config.audio().max_decoded_bytes()),
      operations_{config,         routing,        workers,
                  timers,         fetcher,        &spool_budget_,
                  &decoded_audio_budget_},
      catalog_(operations::BuildModelCatalog(config)) {
  if (operations == nullptr) {
    own_store_ = std::make_unique<operations::MemoryOperationStore>(timers.clock());
    operations = own_store_.get();
  }
  batches_ = operations::BatchRunner::Create(
      config.batch(), static_cast<int>(config.limits().max_chunks_in_flight()),
      operations_, *operations, services.logger);
}

VoxgateServiceImpl::~VoxgateServiceImpl() {
  // Nothing of a batch may outlive what its files use.
  batches_->Shutdown(absl::Seconds(10));
}

grpc::ServerUnaryReactor* VoxgateServiceImpl::BatchTranscribe(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  auto* call =
      new BatchTranscribeCall(context, request, response, unary_, *batches_,
                              static_cast<int>(config_.batch().max_files()));
  call->Begin();
  return call;
}

grpc::ServerUnaryReactor* VoxgateServiceImpl::Transcribe(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  auto* call =
      new TranscribeCall(context, request, response, unary_, operations_);
  call->Begin();
  return call;
}

grpc::ServerUnaryReactor* VoxgateServiceImpl::Analyze(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  auto* call =
      new AnalyzeCall(context, request, response, unary_, operations_);
  call->Begin();
  return call;
}

grpc::ServerUnaryReactor* VoxgateServiceImpl::Chat(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  auto* call = new ChatCall(context, request, response, unary_, operations_);
  call->Begin();
  return call;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* VoxgateServiceImpl::ChatStream(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  auto* call = new ChatStreamCall(context, request, streams_, operations_);
  call->Begin();
  return call;
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>*
VoxgateServiceImpl::StreamTranscribe(grpc::CallbackServerContext* context) {
  auto* call = new StreamTranscribeCall(context, streams_, config_, routing_,
                                        workers_, timers_);
  call->Begin();
  return call;
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>*
VoxgateServiceImpl::TranscribeUpload(grpc::CallbackServerContext* context) {
  auto* call = new TranscribeUploadCall(context, streams_, operations_);
  call->Begin();
  return call;
}

grpc::ServerUnaryReactor* VoxgateServiceImpl::ListModels(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  auto* call = new ListModelsCall(context, request, response, unary_, catalog_,
                                  routing_);
  call->Begin();
  return call;
}

}  // namespace voxgate::server
