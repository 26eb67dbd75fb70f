#ifndef VOXGATE_CALL_METHODS_H_
#define VOXGATE_CALL_METHODS_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "call/admission.h"

namespace voxgate::call {

// How a method's messages flow, as gRPC names the four kinds.
enum class MethodShape { kUnary, kServerStream, kClientStream, kBidiStream };

// One method of the public API: the one table metrics, the keys file, the
// tenant gate and every door read. A method added to the proto is added here
// once.
struct Method {
  const char* name;     // "Chat": the log's, the metrics' and the keys file's
  const char* service;  // "voxgate.v1.VoxgateService"
  MethodShape shape;
  MethodClass method_class;
  // Holds a limits.max_streams slot for its whole life (StreamTranscribe).
  bool long_lived_stream = false;
  // Holds a limits.max_long_polls slot instead of a call slot
  // (WaitOperation).
  bool long_poll = false;
};

inline constexpr char kVoxgateService[] = "voxgate.v1.VoxgateService";
inline constexpr char kOperationsService[] = "google.longrunning.Operations";

inline constexpr Method kTranscribe{"Transcribe", kVoxgateService,
                                    MethodShape::kUnary,
                                    MethodClass::kTranscription};
inline constexpr Method kStreamTranscribe{
    "StreamTranscribe", kVoxgateService, MethodShape::kBidiStream,
    MethodClass::kTranscription, /*long_lived_stream=*/true};
inline constexpr Method kTranscribeUpload{
    "TranscribeUpload", kVoxgateService, MethodShape::kBidiStream,
    MethodClass::kTranscription, /*long_lived_stream=*/true};
inline constexpr Method kBatchTranscribe{"BatchTranscribe", kVoxgateService,
                                         MethodShape::kUnary,
                                         MethodClass::kBatch};
inline constexpr Method kAnalyze{"Analyze", kVoxgateService,
                                 MethodShape::kUnary,
                                 MethodClass::kUnderstanding};
inline constexpr Method kChat{"Chat", kVoxgateService, MethodShape::kUnary,
                              MethodClass::kGeneral};
inline constexpr Method kChatStream{"ChatStream", kVoxgateService,
                                    MethodShape::kServerStream,
                                    MethodClass::kGeneral};
inline constexpr Method kListModels{"ListModels", kVoxgateService,
                                    MethodShape::kUnary,
                                    MethodClass::kGeneral};
inline constexpr Method kGetOperation{"GetOperation", kOperationsService,
                                      MethodShape::kUnary,
                                      MethodClass::kGeneral};
inline constexpr Method kListOperations{"ListOperations", kOperationsService,
                                        MethodShape::kUnary,
                                        MethodClass::kGeneral};
inline constexpr Method kWaitOperation{
    "WaitOperation",        kOperationsService,
    MethodShape::kUnary,    MethodClass::kGeneral,
    /*long_lived_stream=*/false, /*long_poll=*/true};
inline constexpr Method kCancelOperation{"CancelOperation", kOperationsService,
                                         MethodShape::kUnary,
                                         MethodClass::kGeneral};
inline constexpr Method kDeleteOperation{"DeleteOperation", kOperationsService,
                                         MethodShape::kUnary,
                                         MethodClass::kGeneral};

// Every method, in the proto's order.
const std::vector<const Method*>& AllMethods();

// The method named `name`, or null.
const Method* FindMethod(absl::string_view name);

// What a tenant's keys file may list under `methods`: every method, and
// "Metrics" for the admin port's /metrics.
std::vector<std::string> TenantMethodNames();

// "unary", "server_stream", "client_stream", "bidi_stream": the grpc_type
// label of the metrics.
const char* ShapeName(MethodShape shape);

}  // namespace voxgate::call

#endif  // VOXGATE_CALL_METHODS_H_
