#include "server/transcribe_call.h"

#include "operations/transcribe_operation.h"

namespace voxgate::server {

void TranscribeCall::Start() {
  operations::StartTranscribe(operations_, std::move(request_), scope(),
                  [this](absl::StatusOr<v1::TranscribeResponse> answer) {
                    if (answer.ok()) response_ = *std::move(answer);
                    Complete(answer.status());
                  });
}

}  // namespace voxgate::server
