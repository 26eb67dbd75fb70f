#ifndef VOXGATE_SERVER_TRANSCRIBE_OPERATION_H_
#define VOXGATE_SERVER_TRANSCRIBE_OPERATION_H_

#include <functional>

#include "absl/status/statusor.h"
#include "server/call_scope.h"
#include "voxgate/v1/transcribe.pb.h"

namespace voxgate::server {

// Transcribe's work for every front door: validate, route, run a
// TranscriptionJob (decode, cut at silences, chunks to the audio pool in
// parallel, stitch) and answer. `done` runs exactly once, on any thread
// (possibly this one), as the operation's last act. The audio content is
// moved out of `request`, never copied.
void StartTranscribe(
    const OperationServices& services, v1::TranscribeRequest request,
    const CallScope& scope,
    std::function<void(absl::StatusOr<v1::TranscribeResponse>)> done);

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_TRANSCRIBE_OPERATION_H_
