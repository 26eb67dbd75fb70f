#ifndef VOXGATE_SERVER_VOXGATE_SERVICE_H_
#define VOXGATE_SERVER_VOXGATE_SERVICE_H_

#include "common/worker_pool.h"
#include "common/logging.h"
#include "grpcpp/grpcpp.h"
#include "server/admission.h"
#include "server/call_metrics.h"
#include "server/config/config.h"
#include "common/timer_queue.h"
#include "upstream/upstreams.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::server {

// The voxgate.v1.VoxgateService handlers. Each RPC is a reactor that starts its
// work and returns at once; CPU work goes to the audio workers, HTTP to the
// upstream loop. Thread-safe. Every reference must outlive the server.
class VoxgateServiceImpl final : public v1::VoxgateService::CallbackService {
 public:
  VoxgateServiceImpl(const Config& config, upstream::Upstreams& upstreams,
                     WorkerPool& workers, Admission& admission,
                     const Logger& logger, CallMetrics& metrics,
                     TimerQueue& timers, StreamSlots& stream_slots);

  grpc::ServerUnaryReactor* Transcribe(
      grpc::CallbackServerContext* context,
      const v1::TranscribeRequest* request,
      v1::TranscribeResponse* response) override;
  grpc::ServerUnaryReactor* Analyze(grpc::CallbackServerContext* context,
                                    const v1::AnalyzeRequest* request,
                                    v1::AnalyzeResponse* response) override;
  grpc::ServerUnaryReactor* Chat(grpc::CallbackServerContext* context,
                                 const v1::ChatRequest* request,
                                 v1::ChatResponse* response) override;
  grpc::ServerWriteReactor<v1::ChatChunk>* ChatStream(
      grpc::CallbackServerContext* context,
      const v1::ChatRequest* request) override;
  grpc::ServerBidiReactor<v1::StreamTranscribeRequest,
                          v1::StreamTranscribeResponse>*
  StreamTranscribe(grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* ListModels(
      grpc::CallbackServerContext* context,
      const v1::ListModelsRequest* request,
      v1::ListModelsResponse* response) override;

 private:
  const Config& config_;
  upstream::Upstreams& upstreams_;
  WorkerPool& workers_;
  Admission& admission_;
  const Logger& logger_;
  CallMetrics& metrics_;
  TimerQueue& timers_;
  StreamSlots& stream_slots_;
  const v1::ListModelsResponse catalog_;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_VOXGATE_SERVICE_H_
