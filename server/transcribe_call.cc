#include "server/transcribe_call.h"

#include "server/api_mapping.h"

namespace voxgate::server {

TranscribeCall::TranscribeCall(grpc::CallbackServerContext* context,
                               const v1::TranscribeRequest* request,
                               v1::TranscribeResponse* response,
                               const Config& config,
                               upstream::Upstreams& upstreams,
                               WorkerPool& workers, const Logger& logger,
                               Admission& admission, CallMetrics& metrics)
    : UnaryCall(context, "Transcribe", logger, admission, metrics),
      request_(request),
      response_(response),
      config_(config),
      upstreams_(upstreams),
      workers_(workers) {}

void TranscribeCall::Start() {
  const v1::TranscribeRequest* request = request_;
  const Config& config = config_;
  upstream::Upstreams& upstreams = upstreams_;
  WorkerPool& workers = workers_;

  const std::string& model = request->config().model();
  absl::StatusOr<upstream::TranscriptionBackend*> backend =
      upstreams.ForTranscription(model);
  if (!backend.ok()) {
    Complete(backend.status());
    return;
  }
  pool_ = upstreams.PoolNameFor(**backend);
  std::vector<std::string> warnings;
  absl::StatusOr<TranscriptionJobOptions> options = TranscriptionOptionsFor(
      request->config(), request->audio(), config, **backend, pool_, warnings);
  if (!options.ok()) {
    Complete(options.status());
    return;
  }
  for (std::string& warning : warnings)
    response_->add_warnings(std::move(warning));
  options->request.model = upstreams.UpstreamModelName(model);
  options->call = call_.upstream_options();
  Pin pin(this);  // the job may end the call before job_ is stored
  auto job = TranscriptionJob::Start(
      request->audio().content(), *std::move(options), **backend, workers,
      [this](absl::StatusOr<TranscriptionOutcome> outcome) {
        OnOutcome(std::move(outcome));
      });
  bool cancel_now;
  {
    absl::MutexLock lock(&mu_);
    job_ = job;
    cancel_now = cancelled_;
  }
  if (cancel_now) job->Cancel();
}

void TranscribeCall::CancelWork() {
  std::shared_ptr<TranscriptionJob> job;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    job = job_;
  }
  // The job finishes the call with CANCELLED; before it exists, Start() sees
  // the flag once it has made it.
  if (job != nullptr) job->Cancel();
}

void TranscribeCall::OnOutcome(absl::StatusOr<TranscriptionOutcome> outcome) {
  if (!outcome.ok()) {
    Complete(outcome.status());
    return;
  }
  call_.queue_time += outcome->queue_time;
  call_.preprocess_time = outcome->preprocess_time;
  call_.upstream_time = outcome->upstream_time;
  call_.audio_seconds = outcome->audio_seconds;
  call_.chunks = outcome->chunks;
  FillTranscribeResponse(*outcome, request_->config(), *response_);
  response_->set_backend(pool_);
  response_->set_request_id(call_.request_id);
  Complete(absl::OkStatus());
}

}  // namespace voxgate::server
