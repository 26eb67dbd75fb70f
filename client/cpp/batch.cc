#include "client/cpp/batch.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "google/longrunning/operations.grpc.pb.h"
#include "voxgate/v1/batch.pb.h"

namespace voxgate::cli {
namespace {

namespace lro = google::longrunning;

// One line of progress: files done of all, failures, audio done.
std::string ProgressLine(const v1::BatchTranscribeMetadata& metadata) {
  const int total = metadata.files_total();
  const int done = metadata.files_done();
  int running = 0;
  for (const auto& file : metadata.files()) {
    running += file.state() == v1::BATCH_FILE_STATE_RUNNING;
  }
  constexpr int kWidth = 30;
  const int filled = total > 0 ? kWidth * done / total : 0;
  return absl::StrFormat(
      "[%s%s] %d/%d files (%d running, %d failed) | %.1f s "
      "of audio transcribed",
      std::string(filled, '#'), std::string(kWidth - filled, '.'), done, total,
      running, metadata.files_failed(), metadata.audio_seconds_done());
}

class BatchProgress {
 public:
  explicit BatchProgress(bool bar, bool lines) : bar_(bar), lines_(lines) {}
  ~BatchProgress() {
    if (bar_ && shown_) std::fprintf(stderr, "\n");
  }
  void Show(const lro::Operation& operation) {
    v1::BatchTranscribeMetadata metadata;
    if (!operation.metadata().UnpackTo(&metadata)) return;
    const std::string line = ProgressLine(metadata);
    if (line == last_) return;
    last_ = line;
    if (bar_) {
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
    } else if (lines_) {
      std::fprintf(stderr, "%s\n", line.c_str());
    } else {
      return;
    }
    std::fflush(stderr);
    shown_ = true;
  }

 private:
  const bool bar_;
  const bool lines_;
  bool shown_ = false;
  std::string last_;
};

// The operation's per-file outcomes: its response, or the details of the
// error it ended with (the files finished by then).
v1::BatchTranscribeResponse Outcomes(const lro::Operation& operation) {
  v1::BatchTranscribeResponse response;
  if (operation.has_response()) {
    operation.response().UnpackTo(&response);
  } else {
    for (const auto& detail : operation.error().details()) {
      if (detail.UnpackTo(&response)) break;
    }
  }
  return response;
}

}  // namespace

int Batch(Session& session, const Args& args) {
  if (args.positional.empty()) {
    return Usage("batch takes one or more FILE or URL");
  }
  absl::Duration poll = absl::Seconds(2);
  if (args.Has("poll") && !absl::ParseDuration(args.Get("poll"), &poll)) {
    return Usage("--poll is a duration such as 2s");
  }
  v1::BatchTranscribeRequest request;
  request.mutable_config()->set_model(args.Get("model"));
  if (args.Has("language")) {
    request.mutable_config()->add_language_codes(args.Get("language"));
  }
  for (const std::string& item : args.positional) {
    v1::BatchFile& file = *request.add_files();
    file.set_id(item.size() > 128 ? item.substr(item.size() - 128) : item);
    if (absl::StartsWith(item, "https://") ||
        absl::StartsWith(item, "http://")) {
      file.mutable_audio()->set_uri(item);
      continue;
    }
    std::ifstream in(item, std::ios::binary);
    std::ostringstream bytes;
    if (!in || !(bytes << in.rdbuf())) {
      std::cerr << "error: cannot read " << item << "\n";
      return kExitNoInput;
    }
    file.mutable_audio()->set_content(bytes.str());
  }
  lro::Operation operation;
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + session.timeout));
    grpc::Status status =
        session.stub->BatchTranscribe(&context, request, &operation);
    if (!status.ok()) return Fail(status);
  }
  std::cerr << "operation " << operation.name() << "\n";
  BatchProgress progress(isatty(STDERR_FILENO) && !session.json,
                         args.Has("progress"));
  const absl::Time give_up = absl::Now() + session.timeout;
  while (!operation.done()) {
    progress.Show(operation);
    if (session.timeout_given && absl::Now() >= give_up) {
      std::cerr << "error: the batch did not finish within --timeout; it goes "
                   "on at the gateway as "
                << operation.name() << "\n";
      return static_cast<int>(grpc::StatusCode::DEADLINE_EXCEEDED);
    }
    lro::WaitOperationRequest wait;
    wait.set_name(operation.name());
    wait.mutable_timeout()->set_seconds(absl::ToInt64Seconds(poll));
    wait.mutable_timeout()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(poll) % 1000000000));
    grpc::ClientContext context;
    context.set_deadline(
        absl::ToChronoTime(absl::Now() + poll + absl::Seconds(30)));
    lro::Operation next;
    grpc::Status status =
        session.operations->WaitOperation(&context, wait, &next);
    if (!status.ok()) return Fail(status);
    operation = std::move(next);
  }
  progress.Show(operation);
  const v1::BatchTranscribeResponse outcomes = Outcomes(operation);
  int exit_code = 0;
  for (const v1::BatchFileResult& outcome : outcomes.results()) {
    if (session.json) {
      std::cout << Json(outcome) << "\n";
    } else if (outcome.has_result()) {
      std::cout << "== " << outcome.id() << "\n"
                << outcome.result().text() << "\n";
    } else {
      std::cout << "== " << outcome.id()
                << " FAILED: " << outcome.error().message() << "\n";
    }
    if (outcome.has_error() && exit_code == 0) {
      exit_code = outcome.error().code();
    }
  }
  if (operation.has_error()) {
    std::cerr << "error: " << operation.error().message() << "\n";
    return operation.error().code();
  }
  return exit_code;
}

}  // namespace voxgate::cli
