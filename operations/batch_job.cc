#include "operations/batch_job.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "call/call_context.h"
#include "call/status_details.h"
#include "operations/transcribe_operation.h"

namespace voxgate::operations {

namespace {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp TimestampOf(absl::Time time) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(time));
}

// The shared config with the file's own fields over it: set fields replace,
// message fields merge field by field, repeated fields replace whole.
v1::RecognitionConfig FileConfig(const v1::RecognitionConfig& shared,
                                 const v1::RecognitionConfig& own) {
  v1::RecognitionConfig merged = shared;
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  own.GetReflection()->ListFields(own, &fields);
  for (const auto* field : fields) {
    if (field->is_repeated())
      merged.GetReflection()->ClearField(&merged, field);
  }
  merged.MergeFrom(own);
  return merged;
}

}  // namespace

// One file's call: what Transcribe's operation borrows from a call.
struct BatchJob::FileRun {
  call::CallContext call;
  CancelScope work;
  std::string pool;
};

BatchJob::BatchJob(std::string name, BatchCaller caller,
                   v1::BatchTranscribeRequest request, Settings settings,
                   const OperationServices& services, Clock& clock,
                   Persist persist, std::shared_ptr<void> hold)
    : name_(std::move(name)),
      settings_(std::move(settings)),
      services_(services),
      clock_(clock),
      caller_(std::move(caller)),
      persist_(std::move(persist)),
      hold_(std::move(hold)),
      budget_(std::make_shared<call::ChunkBudget>(settings_.chunk_slots)),
      request_(std::move(request)) {
  const absl::Time now = clock_.Now();
  record_.mutable_operation()->set_name(name_);
  record_.set_tenant(caller_.tenant);
  record_.set_owner(settings_.owner);
  record_.set_create_time_ms(absl::ToUnixMillis(now));
  metadata_.set_files_total(request_.files_size());
  *metadata_.mutable_create_time() = TimestampOf(now);
  for (const v1::BatchFile& file : request_.files()) {
    v1::BatchFileStatus* status = metadata_.add_files();
    status->set_id(file.id());
    status->set_state(v1::BATCH_FILE_STATE_PENDING);
  }
  absl::MutexLock lock(&mu_);
  UpdateRecordLocked();
}

StoredOperation BatchJob::Record() const {
  absl::MutexLock lock(&mu_);
  return record_;
}

void BatchJob::UpdateRecordLocked() {
  const absl::Time now = clock_.Now();
  *metadata_.mutable_update_time() = TimestampOf(now);
  *metadata_.mutable_expire_time() = TimestampOf(now + settings_.result_ttl);
  record_.mutable_operation()->mutable_metadata()->PackFrom(metadata_);
  record_.set_expire_time_ms(absl::ToUnixMillis(now + settings_.result_ttl));
}

void BatchJob::SaveLocked() {
  UpdateRecordLocked();
  persist_(record_, /*create=*/false);
}

void BatchJob::Start(std::function<void()> ended) {
  {
    absl::MutexLock lock(&mu_);
    if (done_) {
      ended_ = nullptr;
    } else {
      ended_ = std::move(ended);
      ended = nullptr;
    }
  }
  if (ended) return ended();  // stopped before it started
  StartMore();
}

v1::TranscribeRequest BatchJob::FileRequestLocked(int index) {
  v1::BatchFile& file = *request_.mutable_files(index);
  v1::TranscribeRequest request;
  *request.mutable_audio() = std::move(*file.mutable_audio());
  *request.mutable_config() = FileConfig(request_.config(), file.config());
  file.Clear();  // its audio is the call's now
  return request;
}

void BatchJob::StartMore() {
  std::vector<std::pair<int, v1::TranscribeRequest>> starts;
  std::vector<std::shared_ptr<FileRun>> runs;
  {
    absl::MutexLock lock(&mu_);
    const int files = request_.files_size();
    while (!done_ && stopped_.ok() && next_file_ < files &&
           static_cast<int>(running_.size()) < settings_.files_in_flight) {
      const int index = next_file_++;
      auto run = std::make_shared<FileRun>();
      const absl::Time now = clock_.Now();
      run->call = call::NewCallContext(
          absl::StrCat(name_.substr(name_.rfind('/') + 1), ".", index),
          now + settings_.file_timeout, settings_.file_timeout, now);
      run->call.tenant = record_.tenant();
      run->call.fetch_allowed_hosts = caller_.fetch_allowed_hosts;
      run->call.chunk_budget = budget_;
      running_[index] = run;
      metadata_.mutable_files(index)->set_state(v1::BATCH_FILE_STATE_RUNNING);
      starts.emplace_back(index, FileRequestLocked(index));
      runs.push_back(std::move(run));
    }
    if (!starts.empty()) SaveLocked();
  }
  for (std::size_t i = 0; i < starts.size(); ++i) {
    const int index = starts[i].first;
    if (caller_.check == nullptr) {
      RunFile(index, runs[i], std::move(starts[i].second));
      continue;
    }
    // A batch may run for hours: its tenant's quotas are asked again before
    // every file, not only when it was submitted.
    auto request =
        std::make_shared<v1::TranscribeRequest>(std::move(starts[i].second));
    std::weak_ptr<BatchJob> weak = weak_from_this();
    caller_.check([weak, index, run = runs[i], request](absl::Status allowed) {
      auto job = weak.lock();
      if (job == nullptr) return;
      if (!allowed.ok()) return job->OnFileDone(index, allowed);
      job->RunFile(index, run, std::move(*request));
    });
  }
}

void BatchJob::RunFile(int index, std::shared_ptr<FileRun> run,
                       v1::TranscribeRequest request) {
  std::weak_ptr<BatchJob> weak = weak_from_this();
  FileRun& file = *run;
  StartTranscribe(
      services_, std::move(request),
      call::CallScope{file.call, file.work, file.pool, [run] { return run; }},
      [weak, index, run](absl::StatusOr<v1::TranscribeResponse> outcome) {
        if (auto job = weak.lock()) job->OnFileDone(index, std::move(outcome));
      });
}

void BatchJob::OnFileDone(int index,
                          absl::StatusOr<v1::TranscribeResponse> outcome) {
  if (caller_.charge != nullptr && outcome.ok()) {
    const v1::Usage& usage = outcome->usage();
    caller_.charge({"BatchTranscribe", absl::StatusCode::kOk, usage.audio_seconds(),
             usage.input_tokens() + usage.audio_tokens(),
             usage.output_tokens()});
  }
  std::function<void()> ended;
  bool more = false;
  {
    absl::MutexLock lock(&mu_);
    if (running_.erase(index) == 0 || done_) return;
    v1::BatchFileResult result;
    result.set_id(metadata_.files(index).id());
    double audio_seconds = 0;
    if (outcome.ok()) {
      audio_seconds = outcome->audio_duration().seconds() +
                      outcome->audio_duration().nanos() / 1e9;
      *result.mutable_result() = *std::move(outcome);
    } else if (!stopped_.ok() &&
               outcome.status().code() == absl::StatusCode::kCancelled) {
      // Cancelled by the stop, not by a fault of its own.
      *result.mutable_error() = call::StatusToProto(stopped_);
    } else {
      *result.mutable_error() = call::StatusToProto(outcome.status());
    }
    FileEndedLocked(index, std::move(result), audio_seconds);
    const bool finished =
        running_.empty() &&
        (!stopped_.ok() || next_file_ == request_.files_size());
    if (finished) {
      FinishLocked();
      ended = std::move(ended_);
    } else {
      SaveLocked();
      more = true;
    }
  }
  if (ended) ended();
  if (more) StartMore();
}

void BatchJob::FileEndedLocked(int index, v1::BatchFileResult result,
                               double audio_seconds) {
  v1::BatchFileStatus& status = *metadata_.mutable_files(index);
  status.set_audio_seconds(audio_seconds);
  if (result.has_error()) {
    status.set_state(v1::BATCH_FILE_STATE_FAILED);
    *status.mutable_error() = result.error();
    metadata_.set_files_failed(metadata_.files_failed() + 1);
  } else {
    status.set_state(v1::BATCH_FILE_STATE_SUCCEEDED);
  }
  metadata_.set_files_done(metadata_.files_done() + 1);
  metadata_.set_audio_seconds_done(metadata_.audio_seconds_done() +
                                   audio_seconds);
  // Results go in request order whatever order files end in.
  auto& results = *record_.mutable_partial()->mutable_results();
  while (results.size() < metadata_.files_size()) results.Add();
  results[index] = std::move(result);
}

void BatchJob::FinishLocked() {
  done_ = true;
  google::longrunning::Operation& operation = *record_.mutable_operation();
  operation.set_done(true);
  v1::BatchTranscribeResponse response = std::move(*record_.mutable_partial());
  record_.clear_partial();
  record_.clear_owner();
  if (stopped_.ok()) {
    operation.mutable_response()->PackFrom(response);
  } else {
    google::rpc::Status error = call::StatusToProto(stopped_);
    error.set_message(absl::StrCat(
        error.message(), " (",
        metadata_.files_done() - metadata_.files_failed(), " of ",
        metadata_.files_total(),
        " files had been transcribed: every file's result or error is in this "
        "status's details)"));
    error.add_details()->PackFrom(response);
    *operation.mutable_error() = std::move(error);
  }
  SaveLocked();
}

void BatchJob::Stop(absl::Status why) {
  std::vector<std::shared_ptr<FileRun>> running;
  std::function<void()> ended;
  {
    absl::MutexLock lock(&mu_);
    if (done_ || !stopped_.ok()) return;
    stopped_ = why;
    const google::rpc::Status not_run = call::StatusToProto(
        absl::Status(why.code(), absl::StrCat("not run: ", why.message())));
    for (; next_file_ < request_.files_size(); ++next_file_) {
      v1::BatchFileResult result;
      result.set_id(metadata_.files(next_file_).id());
      *result.mutable_error() = not_run;
      FileEndedLocked(next_file_, std::move(result), 0);
    }
    request_.clear_files();  // their audio is no longer needed
    for (auto& [index, run] : running_) running.push_back(run);
    if (running_.empty()) {
      FinishLocked();
      ended = std::move(ended_);
    } else {
      SaveLocked();
    }
  }
  for (auto& run : running) run->work.Cancel();
  if (ended) ended();
}

}  // namespace voxgate::operations
