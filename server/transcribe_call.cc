#include "server/transcribe_call.h"

#include "server/api_mapping.h"

namespace voxgate::server {

TranscribeCall::TranscribeCall(grpc::CallbackServerContext* context,
                               const grpc::ByteBuffer* request,
                               grpc::ByteBuffer* response,
                               const CallServices& services,
                               const Config& config, upstream::Routing& routing,
                               WorkerPool& workers, TimerQueue& timers)
    : TypedUnaryCall(context, request, response,
                     {"Transcribe", MethodClass::kTranscription}, services),
      config_(config),
      routing_(routing),
      workers_(workers),
      timers_(timers) {}

void TranscribeCall::Start() {
  const std::string& model = request_.config().model();
  absl::StatusOr<upstream::TranscriptionBackend*> backend =
      routing_.ForTranscription(model);
  if (!backend.ok()) return Complete(backend.status());
  pool_ = routing_.PoolNameFor(**backend);
  std::vector<std::string> warnings;
  absl::StatusOr<TranscriptionJobOptions> options = TranscriptionOptionsFor(
      request_.config(), request_.audio(), config_, **backend, pool_, warnings);
  if (!options.ok()) return Complete(options.status());
  for (std::string& warning : warnings)
    response_.add_warnings(std::move(warning));
  options->request.model = routing_.UpstreamModelName(model);
  options->call = call_.upstream_options();
  Pin pin(this);  // the job may end the call before Attach below
  const CancelScope::Key key = work_.Reserve();
  work_.Attach(key,
               TranscriptionJob::Start(
                   std::move(*request_.mutable_audio()->mutable_content()),
                   *std::move(options), **backend, workers_, timers_,
                   [this, key](absl::StatusOr<TranscriptionOutcome> outcome) {
                     work_.Done(key);
                     OnOutcome(std::move(outcome));
                   }));
}

void TranscribeCall::OnOutcome(absl::StatusOr<TranscriptionOutcome> outcome) {
  if (!outcome.ok()) return Complete(outcome.status());
  call_.queue_time += outcome->queue_time;
  call_.preprocess_time = outcome->preprocess_time;
  call_.upstream_time = outcome->upstream_time;
  call_.audio_seconds = outcome->audio_seconds;
  call_.chunks = outcome->chunks;
  FillTranscribeResponse(*outcome, request_.config(), response_);
  response_.set_backend(pool_);
  response_.set_request_id(call_.request_id);
  Complete(absl::OkStatus());
}

}  // namespace voxgate::server
