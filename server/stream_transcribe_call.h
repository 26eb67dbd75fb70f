#ifndef VOXGATE_SERVER_STREAM_TRANSCRIBE_CALL_H_
#define VOXGATE_SERVER_STREAM_TRANSCRIBE_CALL_H_

#include <memory>

#include "common/timer_queue.h"
#include "common/worker_pool.h"
#include "config/config.h"
#include "grpcpp/grpcpp.h"
#include "operations/stream_session.h"
#include "operations/upload_session.h"
#include "server/session_call.h"
#include "voxgate/v1/stream.pb.h"
#include "voxgate/v1/transcribe.pb.h"

namespace voxgate::server {

// StreamTranscribe's gRPC side; all audio work is the StreamSession's.
class StreamTranscribeCall final
    : public SessionCall<operations::StreamSession,
                         v1::StreamTranscribeResponse> {
 public:
  StreamTranscribeCall(grpc::CallbackServerContext* context,
                       const call::CallServices& services,
                       const operations::OperationServices& operations);

 private:
  std::shared_ptr<operations::StreamSession> MakeSession() override;
  void Receive(operations::StreamSession& session,
               grpc::ByteBuffer& message) override;

  const operations::OperationServices operations_;
  v1::StreamTranscribeRequest request_;
};

// TranscribeUpload's gRPC side; all audio work is the UploadSession's.
class TranscribeUploadCall final
    : public SessionCall<operations::UploadSession,
                         v1::TranscribeUploadResponse> {
 public:
  TranscribeUploadCall(grpc::CallbackServerContext* context,
                       const call::CallServices& services,
                       const operations::OperationServices& operations);

 private:
  std::shared_ptr<operations::UploadSession> MakeSession() override;
  void Receive(operations::UploadSession& session,
               grpc::ByteBuffer& message) override;

  const operations::OperationServices& operations_;
  v1::TranscribeUploadRequest request_;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_STREAM_TRANSCRIBE_CALL_H_
