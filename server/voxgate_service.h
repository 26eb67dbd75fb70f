#ifndef VOXGATE_SERVER_VOXGATE_SERVICE_H_
#define VOXGATE_SERVER_VOXGATE_SERVICE_H_

#include "grpcpp/grpcpp.h"
#include "server/admission.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::server {

// The voxgate.v1.VoxgateService handlers. Each reaction returns at once: work
// that can block goes elsewhere. Thread-safe; gRPC calls it from its callback
// threads.
class VoxgateServiceImpl final : public v1::VoxgateService::CallbackService {
 public:
  // `models` is what ListModels answers; `admission` must outlive the service.
  VoxgateServiceImpl(v1::ListModelsResponse models, const Admission& admission)
      : models_(std::move(models)), admission_(admission) {}

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
  const v1::ListModelsResponse models_;
  const Admission& admission_;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_VOXGATE_SERVICE_H_
