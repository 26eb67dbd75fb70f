#ifndef VOXGATE_SERVER_CHAT_STREAM_CALL_H_
#define VOXGATE_SERVER_CHAT_STREAM_CALL_H_

#include <atomic>
#include <deque>
#include <memory>
#include <optional>

#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "grpcpp/grpcpp.h"
#include "server/admission.h"
#include "server/call_context.h"
#include "server/call_metrics.h"
#include "server/config/config.h"
#include "server/guarded_reactor.h"
#include "upstream/upstreams.h"
#include "voxgate/v1/chat.pb.h"

namespace voxgate::server {

// ChatStream: relays upstream deltas as they arrive. At most one write in
// flight; up to kMaxQueued chunks wait, and beyond that the upstream transfer
// is paused until the client reads (backpressure both ways). A client cancel
// aborts the upstream request; Finish runs once, after the upstream has ended.
class ChatStreamCall final
    : public GuardedReactor<grpc::ServerWriteReactor<v1::ChatChunk>> {
 public:
  ChatStreamCall(grpc::CallbackServerContext* context,
                 const v1::ChatRequest* request, upstream::Upstreams& upstreams,
                 const Logger& logger, Admission& admission,
                 CallMetrics& metrics);
  // Asks for admission; the upstream request starts once a slot is granted.
  void Begin();

  void OnWriteDone(bool ok) override;
  void OnCancel() override;

  static constexpr std::size_t kMaxQueued = 32;
  static constexpr std::size_t kResumeBelow = 8;

 private:
  class UpstreamObserver;
  void Start(Admission::Ticket ticket);
  bool OnDelta(const upstream::ChatDelta& delta);
  void OnUpstreamDone(absl::Status status);
  // Starts the next write or the Finish; call with mu_ held.
  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  grpc::CallbackServerContext* const context_;
  CallContext call_;
  const v1::ChatRequest* request_;
  upstream::Upstreams& upstreams_;
  const Logger& logger_;
  Admission& admission_;
  CallMetrics& metrics_;
  std::atomic<uint64_t> admission_wait_{0};
  std::optional<Admission::Ticket> ticket_;
  std::string pool_;

  std::deque<v1::ChatChunk> queue_ ABSL_GUARDED_BY(mu_);
  v1::ChatChunk writing_ ABSL_GUARDED_BY(mu_);
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool first_sent_ ABSL_GUARDED_BY(mu_) = false;
  bool upstream_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status final_status_ ABSL_GUARDED_BY(mu_);
  std::string finish_reason_ ABSL_GUARDED_BY(mu_);
  std::optional<upstream::Usage> usage_ ABSL_GUARDED_BY(mu_);
  std::string model_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<upstream::Transfer> transfer_ ABSL_GUARDED_BY(mu_);
  absl::Time upstream_started_;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_CHAT_STREAM_CALL_H_
