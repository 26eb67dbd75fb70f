#ifndef VOXGATE_CALL_CALL_SCOPE_H_
#define VOXGATE_CALL_CALL_SCOPE_H_

#include <functional>
#include <memory>
#include <string>

#include "common/cancel_scope.h"
#include "call/call_context.h"

namespace voxgate::call {

// What an operation borrows from the call that runs it: its context, the
// scope its work is cancelled through, and where it records the pool that
// served it. `hold` keeps the call alive while the operation starts work
// whose answer may end the call before the start returns.
struct CallScope {
  CallContext& call;
  CancelScope& work;
  std::string& pool;
  std::function<std::shared_ptr<void>()> hold;
};

}  // namespace voxgate::call

#endif  // VOXGATE_CALL_CALL_SCOPE_H_
