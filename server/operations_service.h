#ifndef VOXGATE_SERVER_OPERATIONS_SERVICE_H_
#define VOXGATE_SERVER_OPERATIONS_SERVICE_H_

#include "google/longrunning/operations.grpc.pb.h"
#include "operations/unary_methods.h"
#include "server/call_reactor.h"

namespace voxgate::server {

using RawOperationsService =
    google::longrunning::Operations::WithRawCallbackMethod_ListOperations<
        google::longrunning::Operations::WithRawCallbackMethod_GetOperation<
            google::longrunning::Operations::
                WithRawCallbackMethod_DeleteOperation<
                    google::longrunning::Operations::
                        WithRawCallbackMethod_CancelOperation<
                            google::longrunning::Operations::
                                WithRawCallbackMethod_WaitOperation<
                                    google::longrunning::Operations::
                                        Service>>>>>;

// google.longrunning.Operations for BatchTranscribe's operations: Get, List,
// Cancel, Delete and Wait, each an admitted call like every other (keys,
// limits, draining). Every reference must outlive the server.
class OperationsServiceImpl final : public RawOperationsService {
 public:
  // `methods` is the VoxgateService's (its batches and their directory).
  OperationsServiceImpl(const call::CallServices& services,
                        const operations::UnaryServices& methods)
      : services_(services), methods_(methods) {}

  grpc::ServerUnaryReactor* GetOperation(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListOperations(grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* CancelOperation(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* DeleteOperation(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* WaitOperation(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;

 private:
  const call::CallServices services_;
  const operations::UnaryServices& methods_;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_OPERATIONS_SERVICE_H_
