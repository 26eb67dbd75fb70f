#ifndef VOXGATE_SERVER_UNARY_CALL_H_
#define VOXGATE_SERVER_UNARY_CALL_H_

#include <atomic>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "server/call_reactor.h"
#include "server/wire_messages.h"

namespace voxgate::server {

// What every unary reactor shares: it parses its request from the wire (a bad
// message is INVALID_ARGUMENT naming the field), goes through admission, and
// finishes in one place. The service constructs the call and calls Begin();
// once admitted, the subclass's Start() runs (nothing blocking) and it calls
// Complete() exactly once from anywhere, as the last thing it does.
class UnaryCall : public CallReactor<grpc::ServerUnaryReactor> {
 public:
  UnaryCall(grpc::CallbackServerContext* context,
            const grpc::ByteBuffer* request_bytes,
            grpc::ByteBuffer* response_bytes, const call::Method& method,
            const call::CallServices& services)
      : CallReactor(context, method, services),
        request_bytes_(request_bytes),
        response_bytes_(response_bytes) {}

  // Identifies the caller, parses the request and asks for admission.
  void Begin() {
    if (absl::Status who = Authenticate(); !who.ok()) {
      Complete(who);
      return;
    }
    if (absl::Status parsed = ParseMessage(*request_bytes_, request());
        !parsed.ok()) {
      Complete(parsed);
      return;
    }
    Admit(static_cast<int64_t>(request_bytes_->Length()), requested_model());
  }
  // Lets gRPC run OnDone and OnCancel on the thread that completes the call
  // instead of handing each to its executor: one thread wake-up less per call
  // (measured with bench/chat_overhead_bench). gRPC marks this hook internal,
  // for reactors whose reactions are trivial; ours are: OnDone releases, and
  // OnCancel only cancels the call's work, which never ends on that thread.
  bool InternalInlineable() override { return true; }

 protected:
  // Finishes the call (the response is sent when `status` is OK); later calls
  // do nothing. Thread-safe.
  void Complete(absl::Status status) {
    if (completed_.exchange(true)) return;
    const grpc::Status grpc_status = Conclude(status);
    if (status.ok()) *response_bytes_ = SerializeMessage(response());
    Finish(grpc_status);
  }
  void Refused(absl::Status status) override { Complete(std::move(status)); }

  virtual google::protobuf::Message& request() = 0;
  // The model the parsed request names, for admission's permission check;
  // nullopt for methods that name none.
  virtual std::optional<absl::string_view> requested_model() const {
    return std::nullopt;
  }
  virtual const google::protobuf::Message& response() const = 0;

 private:
  const grpc::ByteBuffer* const request_bytes_;
  grpc::ByteBuffer* const response_bytes_;
  std::atomic<bool> completed_{false};
};

// A unary call with its typed request and response.
template <typename Request, typename Response>
class TypedUnaryCall : public UnaryCall {
 public:
  using UnaryCall::UnaryCall;

 protected:
  google::protobuf::Message& request() override { return request_; }
  const google::protobuf::Message& response() const override {
    return response_;
  }
  Request request_;
  Response response_;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_UNARY_CALL_H_
