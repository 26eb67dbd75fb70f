#ifndef VOXGATE_CLIENT_CPP_COMMANDS_H_
#define VOXGATE_CLIENT_CPP_COMMANDS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "client/cpp/cli_args.h"
#include "google/longrunning/operations.grpc.pb.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::cli {

// Exit codes: 0 OK; a gRPC failure exits with its status code (1 CANCELLED to
// 16 UNAUTHENTICATED), so scripts can tell INVALID_ARGUMENT (3) from
// UNAVAILABLE (14); 64 for a usage error; 66 for an input file that cannot be
// read.
inline constexpr int kExitUsage = 64;
inline constexpr int kExitNoInput = 66;

// `transcribe` streams files bigger than this with TranscribeUpload.
inline constexpr uintmax_t kUploadThresholdBytes = 16 << 20;

// What every command shares: the stub, the per-call timeout and the output
// style.
struct Session {
  std::unique_ptr<v1::VoxgateService::Stub> stub;
  // google.longrunning.Operations on the same channel (batches).
  std::unique_ptr<google::longrunning::Operations::Stub> operations;
  absl::Duration timeout = absl::Seconds(300);
  bool timeout_given = false;  // --timeout was set (uploads have no default)
  bool json = false;  // machine-readable output, one JSON document per result
  bool tty = false;   // stdout is a terminal: progress and in-place updates
};

// What the commands share: the message as JSON (proto field names), a failed
// call printed on stderr (returns its exit code), a usage error (likewise).
std::string Json(const google::protobuf::Message& message);
int Fail(const grpc::Status& status);
int Usage(const std::string& message);

int Transcribe(Session& session, const Args& args);
int Stream(Session& session, const Args& args);
int Chat(Session& session, const Args& args);
int Analyze(Session& session, const Args& args);
int Models(Session& session, const Args& args);
// Needs no gateway: `session` is unused.

}  // namespace voxgate::cli

#endif  // VOXGATE_CLIENT_CPP_COMMANDS_H_
