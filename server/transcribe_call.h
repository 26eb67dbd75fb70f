#ifndef VOXGATE_SERVER_TRANSCRIBE_CALL_H_
#define VOXGATE_SERVER_TRANSCRIBE_CALL_H_

#include <memory>

#include "absl/synchronization/mutex.h"
#include "common/worker_pool.h"
#include "server/config/config.h"
#include "server/transcription_job.h"
#include "server/unary_call.h"
#include "upstream/upstreams.h"
#include "voxgate/v1/transcribe.pb.h"

namespace voxgate::server {

// Transcribe: validate, route, run a TranscriptionJob, answer.
class TranscribeCall final : public UnaryCall {
 public:
  TranscribeCall(grpc::CallbackServerContext* context,
                 const v1::TranscribeRequest* request,
                 v1::TranscribeResponse* response, const Config& config,
                 upstream::Upstreams& upstreams, WorkerPool& workers,
                 const Logger& logger, Admission& admission,
                 CallMetrics& metrics);

 private:
  void Start() override;
  void CancelWork() override;
  void OnOutcome(absl::StatusOr<TranscriptionOutcome> outcome);

  const v1::TranscribeRequest* request_;
  v1::TranscribeResponse* response_;
  const Config& config_;
  upstream::Upstreams& upstreams_;
  WorkerPool& workers_;
  // OnCancel may come while Start() is still setting the job up.
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<TranscriptionJob> job_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_TRANSCRIBE_CALL_H_
