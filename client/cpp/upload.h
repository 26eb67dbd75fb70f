#ifndef VOXGATE_CLIENT_CPP_UPLOAD_H_
#define VOXGATE_CLIENT_CPP_UPLOAD_H_

#include <cstdint>
#include <string>

#include "grpcpp/grpcpp.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::cli {

// How an upload shows its progress on stderr.
enum class ProgressStyle {
  kNone,
  kBar,    // one line rewritten in place (a terminal)
  kLines,  // a line per change, at most two a second (logs, scripts)
};

// Sends the file at `path` (`size` bytes) through TranscribeUpload in 256 KiB
// pieces, while the gateway's progress comes back: bytes sent, then audio
// decoded and transcribed as its chunks are answered. Fills `response` with
// the result.
grpc::Status UploadFile(v1::VoxgateService::Stub& stub,
                        grpc::ClientContext& context, const std::string& path,
                        int64_t size, const v1::RecognitionConfig& config,
                        ProgressStyle style, v1::TranscribeResponse& response);

}  // namespace voxgate::cli

#endif  // VOXGATE_CLIENT_CPP_UPLOAD_H_
