#include "server/batch_call.h"

#include <set>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace voxgate::server {

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

void BatchTranscribeCall::Start() {
  if (absl::Status valid = ValidateBatchRequest(request_, max_files_);
      !valid.ok()) {
    return Complete(valid);
  }
  // A per-file model the tenant may not use: refused now, naming it.
  if (call_.grant != nullptr) {
    for (int i = 0; i < request_.files_size(); ++i) {
      const std::string& model = request_.files(i).config().model();
      if (model.empty()) continue;
      if (absl::Status allowed = call_.grant->CheckModel(model);
          !allowed.ok()) {
        return Complete(absl::Status(
            allowed.code(),
            absl::StrCat("files[", i, "].config.model: ", allowed.message())));
      }
    }
  }
  operations::BatchCaller caller{call_.tenant, nullptr, nullptr, call_.fetch_allowed_hosts};
  if (call_.grant != nullptr) {
    caller.charge = call_.grant->ChargeLater();
    caller.check = call_.grant->CheckQuotasLater();
  }
  runner_.Submit(std::move(request_), std::move(caller),
                 [this](absl::StatusOr<google::longrunning::Operation> op) {
                   if (op.ok()) response_ = *std::move(op);
                   Complete(op.status());
                 });
}

}  // namespace voxgate::server
