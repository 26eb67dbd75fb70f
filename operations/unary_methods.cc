#include "operations/unary_methods.h"

#include <set>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/longrunning/operations.pb.h"
#include "operations/analyze_operation.h"
#include "operations/batch_runner.h"
#include "operations/chat_operation.h"
#include "operations/model_catalog.h"
#include "operations/operation_method_work.h"
#include "operations/transcribe_operation.h"
#include "voxgate/v1/chat.pb.h"
#include "voxgate/v1/transcribe.pb.h"

namespace voxgate::operations {
namespace {

// A unary work with its typed messages.
template <typename Request, typename Response>
class TypedWork : public UnaryWork {
 public:
  google::protobuf::Message& request() override { return request_; }
  const google::protobuf::Message& response() const override {
    return response_;
  }

 protected:
  // Answers `result`: keeps its value as the response, then reports.
  void Answer(absl::StatusOr<Response> result, const Done& done) {
    if (result.ok()) response_ = *std::move(result);
    done(result.status());
  }
  Request request_;
  Response response_;
};

class ChatWork final : public TypedWork<v1::ChatRequest, v1::ChatResponse> {
 public:
  explicit ChatWork(const UnaryServices& services) : services_(services) {}
  std::optional<absl::string_view> requested_model() const override {
    return request_.model();
  }
  void Start(const call::CallScope& scope, Done done) override {
    operation_.emplace(services_.operations, scope);
    operation_->Start(request_, [this, done = std::move(done)](
                                    absl::StatusOr<v1::ChatResponse> answer) {
      Answer(std::move(answer), done);
    });
  }

 private:
  const UnaryServices& services_;
  std::optional<ChatOperation> operation_;
};

class AnalyzeWork final
    : public TypedWork<v1::AnalyzeRequest, v1::AnalyzeResponse> {
 public:
  explicit AnalyzeWork(const UnaryServices& services) : services_(services) {}
  std::optional<absl::string_view> requested_model() const override {
    return request_.model();
  }
  void Start(const call::CallScope& scope, Done done) override {
    operation_.emplace(services_.operations, scope);
    operation_->Start(request_,
                      [this, done = std::move(done)](
                          absl::StatusOr<v1::AnalyzeResponse> answer) {
                        Answer(std::move(answer), done);
                      });
  }

 private:
  const UnaryServices& services_;
  std::optional<AnalyzeOperation> operation_;
};

class TranscribeWork final
    : public TypedWork<v1::TranscribeRequest, v1::TranscribeResponse> {
 public:
  explicit TranscribeWork(const UnaryServices& services)
      : services_(services) {}
  std::optional<absl::string_view> requested_model() const override {
    return request_.config().model();
  }
  void Start(const call::CallScope& scope, Done done) override {
    StartTranscribe(services_.operations, std::move(request_), scope,
                    [this, done = std::move(done)](
                        absl::StatusOr<v1::TranscribeResponse> answer) {
                      Answer(std::move(answer), done);
                    });
  }

 private:
  const UnaryServices& services_;
};

// The configured catalog with each pool's availability now. Goes through
// admission like every call, so draining, limits and keys apply to it too.
class ListModelsWork final
    : public TypedWork<v1::ListModelsRequest, v1::ListModelsResponse> {
 public:
  explicit ListModelsWork(const UnaryServices& services)
      : services_(services) {}
  void Start(const call::CallScope&, Done done) override {
    response_ = CurrentModels(services_.catalog, services_.operations.routing);
    done(absl::OkStatus());
  }

 private:
  const UnaryServices& services_;
};

class BatchTranscribeWork final
    : public TypedWork<v1::BatchTranscribeRequest,
                       google::longrunning::Operation> {
 public:
  explicit BatchTranscribeWork(const UnaryServices& services)
      : services_(services) {}
  std::optional<absl::string_view> requested_model() const override {
    return request_.config().model();
  }
  void Start(const call::CallScope& scope, Done done) override {
    const call::CallContext& call = scope.call;
    if (absl::Status valid = ValidateBatchRequest(
            request_,
            static_cast<int>(services_.operations.config.batch().max_files()));
        !valid.ok()) {
      return done(valid);
    }
    // A per-file model the tenant may not use: refused now, naming it.
    if (call.grant != nullptr) {
      for (int i = 0; i < request_.files_size(); ++i) {
        const std::string& model = request_.files(i).config().model();
        if (model.empty()) continue;
        if (absl::Status allowed = call.grant->CheckModel(model);
            !allowed.ok()) {
          return done(absl::Status(allowed.code(),
                                   absl::StrCat("files[", i, "].config.model: ",
                                                allowed.message())));
        }
      }
    }
    BatchCaller caller{call.tenant, nullptr, nullptr, call.fetch_allowed_hosts};
    if (call.grant != nullptr) {
      caller.charge = call.grant->ChargeLater();
      caller.check = call.grant->CheckQuotasLater();
    }
    services_.batches.Submit(
        std::move(request_), std::move(caller),
        [this, done = std::move(done)](
            absl::StatusOr<google::longrunning::Operation> operation) {
          Answer(std::move(operation), done);
        });
  }

 private:
  const UnaryServices& services_;
};

template <typename Work>
std::unique_ptr<UnaryWork> Make(const UnaryServices& services) {
  return std::make_unique<Work>(services);
}

}  // namespace

absl::Status ValidateBatchRequest(const v1::BatchTranscribeRequest& request,
                                  int max_files) {
  if (request.files_size() == 0) {
    return absl::InvalidArgumentError("files: at least one file is needed");
  }
  if (request.files_size() > max_files) {
    return absl::InvalidArgumentError(
        absl::StrCat("files: ", request.files_size(),
                     " files, more than batch.max_files (", max_files, ")"));
  }
  std::set<std::string> ids;
  for (int i = 0; i < request.files_size(); ++i) {
    const v1::BatchFile& file = request.files(i);
    const std::string path = absl::StrCat("files[", i, "]");
    const std::string& id = file.id();
    bool printable = !id.empty() && id.size() <= 128;
    for (const char c : id) printable = printable && absl::ascii_isprint(c);
    if (!printable) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ".id: 1 to 128 printable ASCII characters are needed"));
    }
    if (!ids.insert(id).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ".id: \"", id, "\" is already used by another file"));
    }
    const bool content = !file.audio().content().empty();
    const bool uri = !file.audio().uri().empty();
    if (content == uri) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ".audio: set content or uri", content ? ", not both" : ""));
    }
    // Each file is its own Transcribe, whose model the caller's key must be
    // allowed: a model named per file is checked when the file runs.
  }
  return absl::OkStatus();
}

const UnaryMethod* FindUnaryMethod(const call::Method& method) {
  static const UnaryMethod kMethods[] = {
      {call::kTranscribe, false, &Make<TranscribeWork>},
      {call::kBatchTranscribe, false, &Make<BatchTranscribeWork>},
      {call::kAnalyze, false, &Make<AnalyzeWork>},
      {call::kChat, false, &Make<ChatWork>},
      {call::kListModels, true, &Make<ListModelsWork>},
      {call::kGetOperation, true, &MakeGetOperationWork},
      {call::kListOperations, true, &MakeListOperationsWork},
      {call::kWaitOperation, false, &MakeWaitOperationWork},
      {call::kCancelOperation, false, &MakeCancelOperationWork},
      {call::kDeleteOperation, false, &MakeDeleteOperationWork},
  };
  for (const UnaryMethod& unary : kMethods) {
    if (&unary.method == &method) return &unary;
  }
  return nullptr;
}

}  // namespace voxgate::operations
