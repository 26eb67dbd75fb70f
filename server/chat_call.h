#ifndef VOXGATE_SERVER_CHAT_CALL_H_
#define VOXGATE_SERVER_CHAT_CALL_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/worker_pool.h"
#include "server/config/config.h"
#include "server/unary_call.h"
#include "upstream/routing.h"
#include "voxgate/v1/chat.pb.h"

namespace voxgate::server {

// Chat: map the request, transcode audio parts that are neither WAV nor MP3 on
// the audio workers (one after another), pass through to the text pool (or the
// audio chat pool when the request carries audio), answer.
class ChatCall final
    : public TypedUnaryCall<v1::ChatRequest, v1::ChatResponse> {
 public:
  ChatCall(grpc::CallbackServerContext* context,
           const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
           const CallServices& services, const Config& config,
           upstream::Routing& routing, WorkerPool& workers);

 private:
  void Start() override;
  // Transcodes the next audio part, or sends the request when none is left.
  void ConvertNext();
  void SendUpstream(upstream::ChatRequest request);

  const Config& config_;
  upstream::Routing& routing_;
  WorkerPool& workers_;
  upstream::ChatBackend* backend_ = nullptr;
  // The request being built while its audio parts are transcoded; touched by
  // one step at a time.
  upstream::ChatRequest chat_;
  std::vector<std::pair<int, int>> to_convert_;
  std::size_t converted_ = 0;
};

// Chooses the chat backend for a request: the audio chat pool when a message
// carries audio, else the text pool; records the pool's name in `pool`.
absl::StatusOr<upstream::ChatBackend*> ChatBackendFor(
    const upstream::ChatRequest& request, const std::string& model,
    upstream::Routing& routing, std::string& pool);

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_CHAT_CALL_H_
