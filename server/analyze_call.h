#ifndef VOXGATE_SERVER_ANALYZE_CALL_H_
#define VOXGATE_SERVER_ANALYZE_CALL_H_

#include <vector>

#include "common/timer_queue.h"
#include "common/worker_pool.h"
#include "call/call_scope.h"
#include "operations/operation_services.h"
#include "config/config.h"
#include "operations/transcription_job.h"
#include "server/unary_call.h"
#include "upstream/routing.h"
#include "voxgate/v1/transcribe.pb.h"

namespace voxgate::server {

// Analyze: DIRECT sends the audio and the instruction to an audio chat model;
// CASCADE transcribes first and sends instruction and transcript to a text
// model. DIRECT with include_transcript transcribes first too.
class AnalyzeCall final
    : public TypedUnaryCall<v1::AnalyzeRequest, v1::AnalyzeResponse> {
 public:
  AnalyzeCall(grpc::CallbackServerContext* context,
              const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
              const call::CallServices& services,
              const operations::OperationServices& operations);

 private:
  void Start() override;
  std::optional<absl::string_view> requested_model() const override {
    return request_.model();
  }
  // The system prompt, history and tools every step's request starts from.
  absl::Status BuildConversationBase();
  void Transcribe();
  void AfterTranscript(absl::StatusOr<operations::TranscriptionOutcome> outcome);
  void AskDirect();
  void Ask(upstream::ChatBackend& backend, upstream::ChatRequest request);
  upstream::ChatRequest Conversation(
      std::vector<upstream::ChatPart> user_parts) const;

  const Config& config_;
  upstream::Routing& routing_;
  WorkerPool& workers_;
  TimerQueue& timers_;
  ByteBudget* const decoded_budget_;
  upstream::ChatParams params_;
  upstream::ChatRequest base_;
  absl::Time transcription_started_;
  upstream::Usage usage_;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_ANALYZE_CALL_H_
