#ifndef VOXGATE_SERVER_ANALYZE_CALL_H_
#define VOXGATE_SERVER_ANALYZE_CALL_H_

#include <memory>

#include "common/worker_pool.h"
#include "server/config/config.h"
#include "server/transcription_job.h"
#include "server/unary_call.h"
#include "upstream/upstreams.h"
#include "voxgate/v1/transcribe.pb.h"

namespace voxgate::server {

// Analyze: DIRECT sends the audio and the instruction to an audio chat model;
// CASCADE transcribes first and sends instruction and transcript to a text
// model. DIRECT with include_transcript transcribes first too.
class AnalyzeCall final : public UnaryCall {
 public:
  AnalyzeCall(grpc::CallbackServerContext* context,
              const v1::AnalyzeRequest* request, v1::AnalyzeResponse* response,
              const Config& config, upstream::Upstreams& upstreams,
              WorkerPool& workers, const Logger& logger,
              Admission& admission, CallMetrics& metrics);

 private:
  void Start() override;
  void CancelWork() override;
  void Transcribe();
  void AfterTranscript(absl::StatusOr<TranscriptionOutcome> outcome);
  void AskDirect();
  void Ask(upstream::ChatBackend& backend, upstream::ChatRequest request);
  upstream::ChatRequest Conversation(
      std::vector<upstream::ChatPart> user_parts) const;
  bool Cancelled();

  const v1::AnalyzeRequest* request_;
  v1::AnalyzeResponse* response_;
  const Config& config_;
  upstream::Upstreams& upstreams_;
  WorkerPool& workers_;
  upstream::ChatParams params_;
  upstream::Usage usage_;

  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<TranscriptionJob> job_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<upstream::Transfer> transfer_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_ANALYZE_CALL_H_
