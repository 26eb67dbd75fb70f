#ifndef VOXGATE_SERVER_VOXGATE_SERVICE_H_
#define VOXGATE_SERVER_VOXGATE_SERVICE_H_

#include "call/call_scope.h"
#include "common/byte_budget.h"
#include "common/timer_queue.h"
#include "common/worker_pool.h"
#include "config/config.h"
#include "grpcpp/grpcpp.h"
#include "operations/batch_runner.h"
#include "operations/memory_operation_store.h"
#include "operations/operation_directory.h"
#include "operations/operation_services.h"
#include "operations/unary_methods.h"
#include "server/call_reactor.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::server {

// Every method takes its messages as bytes (see wire_messages.h): the calls
// parse them, so an unparsable request is a clear INVALID_ARGUMENT.
using RawVoxgateService = v1::VoxgateService::WithRawCallbackMethod_Transcribe<
    v1::VoxgateService::WithRawCallbackMethod_Analyze<
        v1::VoxgateService::WithRawCallbackMethod_Chat<
            v1::VoxgateService::WithRawCallbackMethod_ChatStream<
                v1::VoxgateService::WithRawCallbackMethod_StreamTranscribe<
                    v1::VoxgateService::WithRawCallbackMethod_TranscribeUpload<
                        v1::VoxgateService::WithRawCallbackMethod_ListModels<
                            v1::VoxgateService::
                                WithRawCallbackMethod_BatchTranscribe<
                                    v1::VoxgateService::Service>>>>>>>>;

// The voxgate.v1.VoxgateService handlers. Each RPC is a reactor that goes
// through admission, starts its work and returns at once; CPU work goes to the
// audio workers, HTTP to the upstream loop. Thread-safe. Every reference must
// outlive the server.
class VoxgateServiceImpl final : public RawVoxgateService {
 public:
  // `services.default_deadline` is ignored: each method class has its own in
  // the config (limits.default_unary_deadline, default_stream_deadline).
  // `store` holds BatchTranscribe's operations; null: a store in this
  // process's memory.
  VoxgateServiceImpl(const call::CallServices& services,
                     const operations::OperationServices& operations,
                     operations::OperationStore* store = nullptr);
  ~VoxgateServiceImpl() override;

  grpc::ServerUnaryReactor* Transcribe(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Analyze(grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Chat(grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* ChatStream(
      grpc::CallbackServerContext* context,
      const grpc::ByteBuffer* request) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* StreamTranscribe(
      grpc::CallbackServerContext* context) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* TranscribeUpload(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* BatchTranscribe(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response) override;
  // BatchTranscribe's operations (google.longrunning.Operations serves them).
  operations::BatchRunner& batches() const { return *batches_; }
  // What every unary method's work uses, for the other services and doors.
  const operations::UnaryServices& methods() const { return *methods_; }

  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;

 private:
  const call::CallServices unary_;
  const call::CallServices streams_;
  const operations::OperationServices operations_;
  const v1::ListModelsResponse catalog_;
  std::unique_ptr<operations::MemoryOperationStore>
      own_store_;  // when none is given
  std::shared_ptr<operations::BatchRunner> batches_;
  std::unique_ptr<operations::OperationDirectory> directory_;
  std::optional<operations::UnaryServices> methods_;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_VOXGATE_SERVICE_H_
