#ifndef VOXGATE_OPERATIONS_ANALYZE_OPERATION_H_
#define VOXGATE_OPERATIONS_ANALYZE_OPERATION_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "call/call_scope.h"
#include "operations/operation_services.h"
#include "operations/transcription_job.h"
#include "upstream/routing.h"
#include "voxgate/v1/transcribe.pb.h"

namespace voxgate::operations {

// Analyze for every door: DIRECT sends the audio and the instruction to an
// audio chat model; CASCADE transcribes first and sends instruction and
// transcript to a text model. DIRECT with include_transcript transcribes
// first too. One per call.
class AnalyzeOperation {
 public:
  using Done = std::function<void(absl::StatusOr<v1::AnalyzeResponse>)>;

  AnalyzeOperation(const OperationServices& services, call::CallScope scope)
      : config_(services.config),
        routing_(services.routing),
        workers_(services.workers),
        timers_(services.timers),
        decoded_budget_(services.decoded_audio),
        scope_(std::move(scope)) {}

  // Starts the work; `done` runs exactly once, on any thread (possibly this
  // one), as the operation's last act. `request` must outlive that; its
  // audio may be moved out.
  void Start(v1::AnalyzeRequest& request, Done done);

 private:
  // The system prompt, history and tools every step's request starts from.
  absl::Status BuildConversationBase();
  void Transcribe();
  void AfterTranscript(absl::StatusOr<TranscriptionOutcome> outcome);
  void AskDirect();
  void Ask(upstream::ChatBackend& backend, upstream::ChatRequest request);
  upstream::ChatRequest Conversation(
      std::vector<upstream::ChatPart> user_parts) const;
  void Finish(absl::StatusOr<v1::AnalyzeResponse> result);

  const Config& config_;
  upstream::Routing& routing_;
  WorkerPool& workers_;
  TimerQueue& timers_;
  ByteBudget* const decoded_budget_;
  call::CallScope scope_;
  v1::AnalyzeRequest* request_ = nullptr;
  Done done_;
  v1::AnalyzeResponse response_;
  upstream::ChatParams params_;
  upstream::ChatRequest base_;
  absl::Time transcription_started_;
  upstream::Usage usage_;
};

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_ANALYZE_OPERATION_H_
