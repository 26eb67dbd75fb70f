#include "call/methods.h"

#include <string>

namespace voxgate::call {

const std::vector<const Method*>& AllMethods() {
  static const auto* const kAll = new std::vector<const Method*>{
      &kTranscribe,      &kStreamTranscribe, &kTranscribeUpload,
      &kBatchTranscribe, &kAnalyze,          &kChat,
      &kChatStream,      &kListModels,       &kGetOperation,
      &kListOperations,  &kWaitOperation,    &kCancelOperation,
      &kDeleteOperation};
  return *kAll;
}

const Method* FindMethod(absl::string_view name) {
  for (const Method* method : AllMethods()) {
    if (name == method->name) return method;
  }
  return nullptr;
}

std::vector<std::string> TenantMethodNames() {
  std::vector<std::string> names;
  for (const Method* method : AllMethods()) names.emplace_back(method->name);
  names.emplace_back("Metrics");
  return names;
}

const char* ShapeName(MethodShape shape) {
  switch (shape) {
    case MethodShape::kUnary:
      return "unary";
    case MethodShape::kServerStream:
      return "server_stream";
    case MethodShape::kClientStream:
      return "client_stream";
    case MethodShape::kBidiStream:
      return "bidi_stream";
  }
  return "unary";
}

}  // namespace voxgate::call
