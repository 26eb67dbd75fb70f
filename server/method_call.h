#ifndef VOXGATE_SERVER_METHOD_CALL_H_
#define VOXGATE_SERVER_METHOD_CALL_H_

#include <memory>
#include <optional>
#include <utility>

#include "operations/unary_methods.h"
#include "server/unary_call.h"

namespace voxgate::server {

// Every unary RPC on the gRPC door: the method's work from the registry
// (operations/unary_methods.h) in the one unary reactor. Connect and gRPC-Web
// run the same work on the HTTP door.
class MethodCall final : public UnaryCall {
 public:
  MethodCall(grpc::CallbackServerContext* context,
             const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
             const operations::UnaryMethod& method,
             const call::CallServices& services,
             const operations::UnaryServices& methods)
      : UnaryCall(context, request, response, method.method, services),
        job_(method.make(methods)) {}

  // Starts the RPC `method` (a unary one) and hands gRPC its reactor.
  static grpc::ServerUnaryReactor* Begin(
      const call::Method& method, grpc::CallbackServerContext* context,
      const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
      const call::CallServices& services,
      const operations::UnaryServices& methods) {
    auto* call =
        new MethodCall(context, request, response,
                       *operations::FindUnaryMethod(method), services, methods);
    call->UnaryCall::Begin();
    return call;
  }

 private:
  void Start() override {
    job_->Start(scope(),
                [this](absl::Status status) { Complete(std::move(status)); });
  }
  google::protobuf::Message& request() override { return job_->request(); }
  const google::protobuf::Message& response() const override {
    return job_->response();
  }
  std::optional<absl::string_view> requested_model() const override {
    return job_->requested_model();
  }

  const std::unique_ptr<operations::UnaryWork> job_;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_METHOD_CALL_H_
