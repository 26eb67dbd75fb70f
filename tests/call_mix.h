#ifndef VOXGATE_TESTS_CALL_MIX_H_
#define VOXGATE_TESTS_CALL_MIX_H_

#include <string>

#include "grpcpp/grpcpp.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::testing {

// The kinds of call a mixed load takes in turn.
enum class CallKind { kChat, kChatStream, kTranscribe, kStreamTranscribe };
constexpr int kCallKinds = 4;

// Runs one call of `kind` on `context` to its end and returns its status:
// Chat and ChatStream with a short user message, Transcribe of `wav`, and
// StreamTranscribe of `wav` in 32 KB pieces (stopping early when the gateway
// stops reading). For fault campaigns and soaks, where `context` is cancelled
// or times out at any point.
grpc::Status RunCall(v1::VoxgateService::Stub& stub, CallKind kind,
                     grpc::ClientContext* context, const std::string& wav);

// Writes `wav` to a StreamTranscribe stream in pieces of `piece` bytes;
// false when the gateway stopped reading.
bool WriteAudio(grpc::ClientReaderWriter<v1::StreamTranscribeRequest,
                                         v1::StreamTranscribeResponse>& stream,
                const std::string& audio, std::size_t piece);

}  // namespace voxgate::testing

#endif  // VOXGATE_TESTS_CALL_MIX_H_
