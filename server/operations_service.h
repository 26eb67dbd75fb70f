#ifndef VOXGATE_SERVER_OPERATIONS_SERVICE_H_
#define VOXGATE_SERVER_OPERATIONS_SERVICE_H_

#include "google/longrunning/operations.grpc.pb.h"
#include "server/call_reactor.h"
#include "operations/operation_directory.h"

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
  OperationsServiceImpl(const call::CallServices& services, operations::BatchRunner& runner,
                        TimerQueue& timers)
      : services_(services), directory_(runner), timers_(timers) {}

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
  operations::OperationDirectory directory_;
  TimerQueue& timers_;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_OPERATIONS_SERVICE_H_
