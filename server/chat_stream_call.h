#ifndef VOXGATE_SERVER_CHAT_STREAM_CALL_H_
#define VOXGATE_SERVER_CHAT_STREAM_CALL_H_

#include <deque>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "server/call_reactor.h"
#include "call/call_scope.h"
#include "operations/operation_services.h"
#include "operations/chat_operation.h"
#include "voxgate/v1/chat.pb.h"

namespace voxgate::server {

// ChatStream: relays upstream deltas as they arrive. At most one write in
// flight; up to kMaxQueued chunks wait, and beyond that the upstream transfer
// is paused until the client reads (backpressure both ways). A client cancel
// aborts the upstream request, whenever it comes; Finish runs once, after the
// upstream has ended.
class ChatStreamCall final
    : public CallReactor<grpc::ServerWriteReactor<grpc::ByteBuffer>> {
 public:
  ChatStreamCall(grpc::CallbackServerContext* context,
                 const grpc::ByteBuffer* request, const call::CallServices& services,
                 const operations::OperationServices& operations);
  // Parses the request and asks for admission; the upstream request starts
  // once a slot is granted.
  void Begin();

  void OnWriteDone(bool ok) override;

  static constexpr std::size_t kMaxQueued = 32;
  static constexpr std::size_t kResumeBelow = 8;

 private:
  class UpstreamObserver;
  void Start() override;
  // Sends the prepared request upstream (on the reaction or a worker).
  void StartUpstream(operations::PreparedChat prepared);
  void Refused(absl::Status status) override;
  void OnCallerCancelled() override;
  bool OnDelta(const upstream::ChatDelta& delta);
  void OnUpstreamDone(absl::Status status);
  // Starts the next write or the Finish.
  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const grpc::ByteBuffer* const request_bytes_;
  v1::ChatRequest request_;
  const operations::OperationServices operations_;
  absl::Time upstream_started_;
  CancelScope::Key upstream_key_ = 0;

  std::deque<v1::ChatChunk> queue_ ABSL_GUARDED_BY(mu_);
  grpc::ByteBuffer writing_ ABSL_GUARDED_BY(mu_);
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool first_sent_ ABSL_GUARDED_BY(mu_) = false;
  // While admission or the upstream request is in progress; Finish waits for
  // its end (both may still call into the call).
  bool busy_ ABSL_GUARDED_BY(mu_) = true;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Status> final_status_ ABSL_GUARDED_BY(mu_);
  operations::ChatStreamSummary summary_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<upstream::Transfer> transfer_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_CHAT_STREAM_CALL_H_
