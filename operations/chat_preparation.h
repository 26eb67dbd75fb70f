#ifndef VOXGATE_OPERATIONS_CHAT_PREPARATION_H_
#define VOXGATE_OPERATIONS_CHAT_PREPARATION_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "call/call_scope.h"
#include "operations/operation_services.h"
#include "upstream/routing.h"
#include "voxgate/v1/chat.pb.h"

namespace voxgate::operations {

// A chat request made ready to send: its backend (the pool is recorded in
// the call's scope) and its upstream form, audio parts as WAV or MP3, the
// pool's model defaults applied.
struct PreparedChat {
  upstream::ChatBackend* backend;
  upstream::ChatRequest chat;
};

// What Chat and ChatStream do before they send, once for both: map the
// request, choose the pool (the audio chat pool when a message carries
// audio, else the text pool), transcode the audio parts that are neither WAV
// nor MP3 on the audio workers (one after another), and count every audio
// part's seconds (what the tenant is charged; books them and the
// preprocessing time on the call). One per call.
class ChatPreparation {
 public:
  using Done = std::function<void(absl::StatusOr<PreparedChat>)>;

  ChatPreparation(const OperationServices& services, call::CallScope scope)
      : services_(services), scope_(std::move(scope)) {}

  // `done` runs exactly once, on any thread (possibly this one), as the
  // preparation's last act. `request` must outlive that.
  void Start(const v1::ChatRequest& request, Done done);

 private:
  // Transcodes the next audio part, or goes on when none is left.
  void ConvertNext();
  // Counts the seconds of every audio part: the transcoded ones were
  // counted as they were decoded, the others are decoded to be counted.
  void Measure();
  void Prepared(upstream::ChatRequest chat);
  void Finish(absl::StatusOr<PreparedChat> result);

  const OperationServices services_;
  call::CallScope scope_;
  const v1::ChatRequest* request_ = nullptr;
  Done done_;
  upstream::ChatBackend* backend_ = nullptr;
  // The request being built while its audio parts are transcoded; touched by
  // one step at a time.
  upstream::ChatRequest chat_;
  std::vector<std::pair<int, int>> to_convert_;
  std::size_t converted_ = 0;
  double converted_seconds_ = 0;  // of the transcoded parts
};

// Chooses the chat backend for a request: the audio chat pool when a message
// carries audio, else the text pool; records the pool's name in `pool`.
absl::StatusOr<upstream::ChatBackend*> ChatBackendFor(
    const upstream::ChatRequest& request, const std::string& model,
    upstream::Routing& routing, std::string& pool);

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_CHAT_PREPARATION_H_
