#ifndef VOXGATE_OPERATIONS_CHAT_OPERATION_H_
#define VOXGATE_OPERATIONS_CHAT_OPERATION_H_

#include <functional>
#include <utility>

#include "absl/status/statusor.h"
#include "call/call_scope.h"
#include "operations/chat_preparation.h"
#include "operations/operation_services.h"
#include "voxgate/v1/chat.pb.h"

namespace voxgate::operations {

// Chat's work for every door: the ChatPreparation, then one upstream
// completion, answered as a ChatResponse. One per call.
class ChatOperation {
 public:
  using Done = std::function<void(absl::StatusOr<v1::ChatResponse>)>;

  ChatOperation(const OperationServices& services, call::CallScope scope)
      : scope_(scope), preparation_(services, std::move(scope)) {}

  // Starts the work; `done` runs exactly once, on any thread (possibly this
  // one), as the operation's last act (it may destroy the operation).
  // `request` must outlive that.
  void Start(const v1::ChatRequest& request, Done done);

 private:
  void SendUpstream(PreparedChat prepared);
  void Finish(absl::StatusOr<v1::ChatResponse> result);

  call::CallScope scope_;
  ChatPreparation preparation_;
  Done done_;
};

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_CHAT_OPERATION_H_
