#ifndef VOXGATE_SERVER_BATCH_CALL_H_
#define VOXGATE_SERVER_BATCH_CALL_H_

#include "absl/status/status.h"
#include "google/longrunning/operations.pb.h"
#include "operations/batch_runner.h"
#include "server/unary_call.h"
#include "voxgate/v1/batch.pb.h"

namespace voxgate::server {

// What a BatchTranscribe request must be before it becomes an operation:
// 1 to `max_files` files, each with a unique printable id of 1 to 128
// characters and its audio as content or uri. Errors name the file
// ("files[3].id"). What is wrong inside a file (undecodable audio, an
// unreachable URL, a bad option) is that file's error, later.
absl::Status ValidateBatchRequest(const v1::BatchTranscribeRequest& request,
                                  int max_files);

// BatchTranscribe over gRPC: answers with the new operation at once.
class BatchTranscribeCall final
    : public TypedUnaryCall<v1::BatchTranscribeRequest,
                            google::longrunning::Operation> {
 public:
  BatchTranscribeCall(grpc::CallbackServerContext* context,
                      const grpc::ByteBuffer* request,
                      grpc::ByteBuffer* response, const call::CallServices& services,
                      operations::BatchRunner& runner, int max_files)
      : TypedUnaryCall(context, request, response,
                       call::kBatchTranscribe, services),
        runner_(runner),
        max_files_(max_files) {}

 private:
  void Start() override;
  std::optional<absl::string_view> requested_model() const override {
    return request_.config().model();
  }

  operations::BatchRunner& runner_;
  const int max_files_;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_BATCH_CALL_H_
