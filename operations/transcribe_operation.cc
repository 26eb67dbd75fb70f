#include "operations/transcribe_operation.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "operations/api_mapping.h"
#include "operations/audio_fetcher.h"
#include "operations/transcription_job.h"

namespace voxgate::operations {

namespace {

// Fetches audio.uri, then transcribes what came as if it had been sent inline.
void FetchThenTranscribe(
    const OperationServices& services, v1::TranscribeRequest request,
    const call::CallScope& scope,
    std::function<void(absl::StatusOr<v1::TranscribeResponse>)> done) {
  if (!request.audio().content().empty()) {
    return done(
        absl::InvalidArgumentError("audio: set content or uri, not both"));
  }
  if (services.fetcher == nullptr) {
    return done(absl::UnimplementedError(
        "audio.uri: this front door takes audio content only"));
  }
  const std::string uri = std::move(*request.mutable_audio()->mutable_uri());
  request.mutable_audio()->clear_uri();
  const absl::Time started = absl::Now();
  // The call stays alive while the fetch runs; the continuation borrows from
  // it again.
  scope.work.Run([&](std::function<void()> fetched) {
    return services.fetcher->Fetch(
        uri, scope.call.deadline, scope.call.fetch_allowed_hosts,
        [services, request = std::move(request), fetched,
         call_scope =
             call::CallScope{scope.call, scope.work, scope.pool, scope.hold},
         hold = scope.hold(), started,
         done = std::move(done)](absl::StatusOr<std::string> audio) mutable {
          fetched();
          if (!audio.ok()) return done(audio.status());
          // Fetching counts as preparing the audio.
          call_scope.call.preprocess_time += absl::Now() - started;
          *request.mutable_audio()->mutable_content() = *std::move(audio);
          StartTranscribe(services, std::move(request), call_scope,
                          std::move(done));
        });
  });
}

}  // namespace

void StartTranscribe(
    const OperationServices& services, v1::TranscribeRequest request,
    const call::CallScope& scope,
    std::function<void(absl::StatusOr<v1::TranscribeResponse>)> done) {
  if (!request.audio().uri().empty()) {
    return FetchThenTranscribe(services, std::move(request), scope,
                               std::move(done));
  }
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
  options->shared_budget = scope.call.chunk_budget;
  options->decoded_budget = services.decoded_audio;
  std::string content = std::move(*request.mutable_audio()->mutable_content());
  // The job may end the call before it is attached.
  const std::shared_ptr<void> hold = scope.hold();
  scope.work.Run([&](std::function<void()> finished) {
    return TranscriptionJob::Start(
        std::move(content), *std::move(options), **backend, services.workers,
        services.timers,
        [finished, &call = scope.call, &pool = scope.pool,
         recognition = std::move(*request.mutable_config()),
         warnings = std::move(warnings), done = std::move(done)](
            absl::StatusOr<TranscriptionOutcome> outcome) mutable {
          finished();
          if (!outcome.ok()) return done(outcome.status());
          call.queue_time += outcome->queue_time;
          call.preprocess_time += outcome->preprocess_time;
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
        });
  });
}

}  // namespace voxgate::operations
