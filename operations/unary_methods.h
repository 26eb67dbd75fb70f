#ifndef VOXGATE_OPERATIONS_UNARY_METHODS_H_
#define VOXGATE_OPERATIONS_UNARY_METHODS_H_

// Every unary method's work, for every door, from the method registry
// (call/methods.h): its request and response messages, the model it names
// (admission's permission check) and how it runs. The gRPC door, Connect and
// gRPC-Web serve a method through this table alone, so a method added here
// is served on every door with no route written by hand.

#include <functional>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "call/call_scope.h"
#include "call/methods.h"
#include "google/protobuf/message.h"
#include "operations/operation_services.h"
#include "voxgate/v1/batch.pb.h"
#include "voxgate/v1/models.pb.h"

namespace voxgate::operations {

class BatchRunner;
class OperationDirectory;

// What the unary methods use besides the operations' services. Every
// reference must outlive the doors.
struct UnaryServices {
  const OperationServices& operations;
  const v1::ListModelsResponse& catalog;
  BatchRunner& batches;
  OperationDirectory& directory;
};

// One unary call's work: the door parses into request(), admits the call with
// requested_model(), calls Start once admitted, and answers response() when
// `done` says OK. Not thread-safe; owned by the door's call.
class UnaryWork {
 public:
  using Done = std::function<void(absl::Status)>;

  virtual ~UnaryWork() = default;
  virtual google::protobuf::Message& request() = 0;
  virtual const google::protobuf::Message& response() const = 0;
  // The model the parsed request names; nullopt for methods that name none.
  virtual std::optional<absl::string_view> requested_model() const {
    return std::nullopt;
  }
  // Runs the work under the call's scope; `done` runs exactly once, on any
  // thread (possibly this one), as the work's last act.
  virtual void Start(const call::CallScope& scope, Done done) = 0;
};

struct UnaryMethod {
  const call::Method& method;
  // Reads only: Connect may serve it over GET, so caches can keep it.
  bool side_effect_free = false;
  std::unique_ptr<UnaryWork> (*make)(const UnaryServices& services) = nullptr;
};

// The unary method `method` is, or null for a streaming one.
const UnaryMethod* FindUnaryMethod(const call::Method& method);

// BatchTranscribe's request checks before anything is stored: 1 to
// `max_files` files, ids unique and printable, content or uri on each.
absl::Status ValidateBatchRequest(const v1::BatchTranscribeRequest& request,
                                  int max_files);

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_UNARY_METHODS_H_
