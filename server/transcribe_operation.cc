#include "server/transcribe_operation.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/api_mapping.h"
#include "server/transcription_job.h"

namespace voxgate::server {

void StartTranscribe(
    const OperationServices& services, v1::TranscribeRequest request,
    const CallScope& scope,
    std::function<void(absl::StatusOr<v1::TranscribeResponse>)> done) {
  const std::string& model = request.config().model();
  absl::StatusOr<upstream::TranscriptionBackend*> backend =
      services.routing.ForTranscription(model);
  if (!backend.ok()) return done(backend.status());
  scope.pool = services.routing.PoolNameFor(**backend);
  std::vector<std::string> warnings;
  absl::StatusOr<TranscriptionJobOptions> options =
      TranscriptionOptionsFor(request.config(), request.audio(),
                              services.config, **backend, scope.pool, warnings);
  if (!options.ok()) return done(options.status());
  options->request.model = services.routing.UpstreamModelName(model);
  options->call = scope.call.upstream_options();
  std::string content = std::move(*request.mutable_audio()->mutable_content());
  // The job may end the call before Attach below.
  const std::shared_ptr<void> hold = scope.hold();
  CancelScope& work = scope.work;
  const CancelScope::Key key = work.Reserve();
  work.Attach(key,
              TranscriptionJob::Start(
                  std::move(content), *std::move(options), **backend,
                  services.workers, services.timers,
                  [&work, &call = scope.call, &pool = scope.pool, key,
                   recognition = std::move(*request.mutable_config()),
                   warnings = std::move(warnings), done = std::move(done)](
                      absl::StatusOr<TranscriptionOutcome> outcome) mutable {
                    work.Done(key);
                    if (!outcome.ok()) return done(outcome.status());
                    call.queue_time += outcome->queue_time;
                    call.preprocess_time = outcome->preprocess_time;
                    call.upstream_time = outcome->upstream_time;
                    call.audio_seconds = outcome->audio_seconds;
                    call.chunks = outcome->chunks;
                    v1::TranscribeResponse response;
                    for (std::string& warning : warnings) {
                      response.add_warnings(std::move(warning));
                    }
                    FillTranscribeResponse(*outcome, recognition, response);
                    response.set_backend(pool);
                    response.set_request_id(call.request_id);
                    done(std::move(response));
                  }));
}

}  // namespace voxgate::server
