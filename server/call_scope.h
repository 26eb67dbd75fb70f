#ifndef VOXGATE_SERVER_CALL_SCOPE_H_
#define VOXGATE_SERVER_CALL_SCOPE_H_

#include <functional>
#include <memory>
#include <string>

#include "common/byte_budget.h"
#include "common/cancel_scope.h"
#include "common/timer_queue.h"
#include "common/worker_pool.h"
#include "server/call_context.h"
#include "server/config/config.h"
#include "upstream/routing.h"

namespace voxgate::server {

// What the operations (Chat, Transcribe, ...) use, whichever front door
// (gRPC, HTTP, WebSocket) the call came through. Every reference must outlive
// the server.
class AudioFetcher;

struct OperationServices {
  const Config& config;
  upstream::Routing& routing;
  WorkerPool& workers;
  TimerQueue& timers;
  // Fetches AudioInput.uri; null where URLs are not taken.
  AudioFetcher* fetcher = nullptr;
  // What uploads may spool to disk; null: unbounded.
  ByteBudget* spool = nullptr;
  // Decoded audio (PCM being cut, WAV chunks not yet answered) held at once
  // over all calls; null: unbounded.
  ByteBudget* decoded_audio = nullptr;
};

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

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_CALL_SCOPE_H_
