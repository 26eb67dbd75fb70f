#include "server/voxgate_service.h"

#include "common/proto_duration.h"
#include "operations/model_catalog.h"
#include "server/analyze_call.h"
#include "server/batch_call.h"
#include "server/chat_call.h"
#include "server/chat_stream_call.h"
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
                 const operations::OperationServices& operations)
      : TypedUnaryCall(context, request, response, call::kListModels, services),
        catalog_(catalog),
        operations_(operations) {}

 private:
  void Start() override {
    response_ = operations::CurrentModels(catalog_, operations_.routing);
    Complete(absl::OkStatus());
  }

  const v1::ListModelsResponse& catalog_;
  const operations::OperationServices& operations_;
};

call::CallServices WithDeadline(const call::CallServices& services,
                                const google::protobuf::Duration& deadline) {
  return {services.admission, services.logger, services.metrics,
          ToAbsl(deadline),   services.clock,  services.deadline_timers};
}

}  // namespace

VoxgateServiceImpl::VoxgateServiceImpl(
    const call::CallServices& services,
    const operations::OperationServices& operations,
    operations::OperationStore* store)
    : unary_(WithDeadline(services,
                          operations.config.limits().default_unary_deadline())),
      streams_(WithDeadline(
          services, operations.config.limits().default_stream_deadline())),
      operations_(operations),
      catalog_(operations::BuildModelCatalog(operations.config)) {
  const Config& config = operations.config;
  if (store == nullptr) {
    own_store_ = std::make_unique<operations::MemoryOperationStore>(
        operations.timers.clock());
    store = own_store_.get();
  }
  batches_ = operations::BatchRunner::Create(
      config.batch(), static_cast<int>(config.limits().max_chunks_in_flight()),
      operations_, *store, services.logger);
}

VoxgateServiceImpl::~VoxgateServiceImpl() {
  // Nothing of a batch may outlive what its files use.
  batches_->Shutdown(absl::Seconds(10));
}

grpc::ServerUnaryReactor* VoxgateServiceImpl::BatchTranscribe(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  auto* call = new BatchTranscribeCall(
      context, request, response, unary_, *batches_,
      static_cast<int>(operations_.config.batch().max_files()));
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
  auto* call = new AnalyzeCall(context, request, response, unary_, operations_);
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
  auto* call = new StreamTranscribeCall(context, streams_, operations_);
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
                                  operations_);
  call->Begin();
  return call;
}

}  // namespace voxgate::server
