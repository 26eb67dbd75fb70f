#include "server/voxgate_service.h"

#include "common/proto_duration.h"
#include "operations/model_catalog.h"
#include "server/chat_stream_call.h"
#include "server/method_call.h"
#include "server/stream_transcribe_call.h"
#include "voxgate/v1/models.pb.h"

namespace voxgate::server {
namespace {

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
  directory_ = std::make_unique<operations::OperationDirectory>(*batches_);
  methods_.emplace(
      operations::UnaryServices{operations_, catalog_, *batches_, *directory_});
}

VoxgateServiceImpl::~VoxgateServiceImpl() {
  // Nothing of a batch may outlive what its files use.
  batches_->Shutdown(absl::Seconds(10));
}

grpc::ServerUnaryReactor* VoxgateServiceImpl::BatchTranscribe(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return MethodCall::Begin(call::kBatchTranscribe, context, request, response,
                           unary_, *methods_);
}

grpc::ServerUnaryReactor* VoxgateServiceImpl::Transcribe(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return MethodCall::Begin(call::kTranscribe, context, request, response,
                           unary_, *methods_);
}

grpc::ServerUnaryReactor* VoxgateServiceImpl::Analyze(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return MethodCall::Begin(call::kAnalyze, context, request, response, unary_,
                           *methods_);
}

grpc::ServerUnaryReactor* VoxgateServiceImpl::Chat(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return MethodCall::Begin(call::kChat, context, request, response, unary_,
                           *methods_);
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
  return MethodCall::Begin(call::kListModels, context, request, response,
                           unary_, *methods_);
}

}  // namespace voxgate::server
