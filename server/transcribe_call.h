#ifndef VOXGATE_SERVER_TRANSCRIBE_CALL_H_
#define VOXGATE_SERVER_TRANSCRIBE_CALL_H_

#include "common/timer_queue.h"
#include "common/worker_pool.h"
#include "server/config/config.h"
#include "server/transcription_job.h"
#include "server/unary_call.h"
#include "upstream/routing.h"
#include "voxgate/v1/transcribe.pb.h"

namespace voxgate::server {

// Transcribe: validate, route, run a TranscriptionJob, answer.
class TranscribeCall final
    : public TypedUnaryCall<v1::TranscribeRequest, v1::TranscribeResponse> {
 public:
  TranscribeCall(grpc::CallbackServerContext* context,
                 const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
                 const CallServices& services, const Config& config,
                 upstream::Routing& routing, WorkerPool& workers,
                 TimerQueue& timers);

 private:
  void Start() override;
  void OnOutcome(absl::StatusOr<TranscriptionOutcome> outcome);

  const Config& config_;
  upstream::Routing& routing_;
  WorkerPool& workers_;
  TimerQueue& timers_;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_TRANSCRIBE_CALL_H_
