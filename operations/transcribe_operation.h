#ifndef VOXGATE_OPERATIONS_TRANSCRIBE_OPERATION_H_
#define VOXGATE_OPERATIONS_TRANSCRIBE_OPERATION_H_

#include <functional>

#include "absl/status/statusor.h"
#include "call/call_scope.h"
#include "operations/operation_services.h"
#include "voxgate/v1/transcribe.pb.h"

namespace voxgate::operations {

// Transcribe's work for every front door: validate, route, run a
// TranscriptionJob (decode, cut at silences, chunks to the audio pool in
// parallel, stitch) and answer. `done` runs exactly once, on any thread
// (possibly this one), as the operation's last act. The audio content is
// moved out of `request`, never copied.
void StartTranscribe(
    const OperationServices& services, v1::TranscribeRequest request,
    const call::CallScope& scope,
    std::function<void(absl::StatusOr<v1::TranscribeResponse>)> done);

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_TRANSCRIBE_OPERATION_H_
