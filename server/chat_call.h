#ifndef VOXGATE_SERVER_CHAT_CALL_H_
#define VOXGATE_SERVER_CHAT_CALL_H_

#include <memory>

#include "common/worker_pool.h"
#include "server/config/config.h"
#include "server/unary_call.h"
#include "upstream/upstreams.h"
#include "voxgate/v1/chat.pb.h"

namespace voxgate::server {

// Chat: map the request, transcode audio parts that are neither WAV nor MP3 on
// the audio workers, pass through to the text pool (or the audio chat pool when
// the request carries audio), answer.
class ChatCall final : public UnaryCall {
 public:
  ChatCall(grpc::CallbackServerContext* context, const v1::ChatRequest* request,
           v1::ChatResponse* response, const Config& config,
           upstream::Upstreams& upstreams, WorkerPool& workers,
           const Logger& logger, Admission& admission, CallMetrics& metrics);

 private:
  void Start() override;
  void CancelWork() override;
  void SendUpstream(upstream::ChatRequest request);

  const v1::ChatRequest* request_;
  v1::ChatResponse* response_;
  const Config& config_;
  upstream::Upstreams& upstreams_;
  WorkerPool& workers_;
  upstream::ChatBackend* backend_ = nullptr;
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<upstream::Transfer> transfer_ ABSL_GUARDED_BY(mu_);
};

// Chooses the chat backend for a request: the audio chat pool when a message
// carries audio, else the text pool; records the pool's name in `pool`.
absl::StatusOr<upstream::ChatBackend*> ChatBackendFor(
    const upstream::ChatRequest& request, const std::string& model,
    upstream::Upstreams& upstreams, std::string& pool);

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_CHAT_CALL_H_
