#ifndef VOXGATE_SERVER_CALL_CONTEXT_H_
#define VOXGATE_SERVER_CALL_CONTEXT_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "upstream/types.h"

namespace voxgate::server {

// Per-call facts every handler needs: request id, deadline, timings.
struct CallContext {
  std::string request_id;
  absl::Time started;
  absl::Time deadline;
  absl::Duration queue_time;
  absl::Duration preprocess_time;
  absl::Duration upstream_time;
  // Audio the call decoded (seconds) and the chunks it was cut into.
  double audio_seconds = 0;
  int chunks = 0;

  std::shared_ptr<upstream::EndpointTrace> endpoints =
      std::make_shared<upstream::EndpointTrace>();

  upstream::CallOptions upstream_options() const {
    return {deadline, request_id, endpoints};
  }
};

// Reads the caller's x-request-id (or makes one: 32 hex digits) and deadline,
// and returns the id in initial metadata. Call from the reaction that starts
// the call.
CallContext StartCall(grpc::CallbackServerContext& context);

// Adds voxgate-{queue,preprocess,upstream,total,overhead}-ms trailing metadata;
// overhead is total minus upstream time. Call once, before Finish.
void AddTimingTrailers(grpc::CallbackServerContext& context,
                       const CallContext& call);

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_CALL_CONTEXT_H_
