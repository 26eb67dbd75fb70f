#ifndef VOXGATE_OPERATIONS_OPERATION_SERVICES_H_
#define VOXGATE_OPERATIONS_OPERATION_SERVICES_H_

#include "common/byte_budget.h"
#include "common/timer_queue.h"
#include "common/worker_pool.h"
#include "config/config.h"
#include "upstream/routing.h"

namespace voxgate::operations {

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

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_OPERATION_SERVICES_H_
