#include "server/operations_service.h"

#include "server/method_call.h"

namespace voxgate::server {

grpc::ServerUnaryReactor* OperationsServiceImpl::GetOperation(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return MethodCall::Begin(call::kGetOperation, context, request, response,
                           services_, methods_);
}

grpc::ServerUnaryReactor* OperationsServiceImpl::ListOperations(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return MethodCall::Begin(call::kListOperations, context, request, response,
                           services_, methods_);
}

grpc::ServerUnaryReactor* OperationsServiceImpl::CancelOperation(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return MethodCall::Begin(call::kCancelOperation, context, request, response,
                           services_, methods_);
}

grpc::ServerUnaryReactor* OperationsServiceImpl::DeleteOperation(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return MethodCall::Begin(call::kDeleteOperation, context, request, response,
                           services_, methods_);
}

grpc::ServerUnaryReactor* OperationsServiceImpl::WaitOperation(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return MethodCall::Begin(call::kWaitOperation, context, request, response,
                           services_, methods_);
}

}  // namespace voxgate::server
