#include "operations/batch_runner.h"

#include <unistd.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/proto_duration.h"

namespace voxgate::operations {

namespace {

constexpr absl::string_view kOperationPrefix = "operations/batch-";
constexpr int kOperationIdBytes = 16;

std::string RandomHex(int bytes) {
  absl::BitGen random;
  std::string hex;
  for (int i = 0; i < bytes; ++i) {
    absl::StrAppend(&hex,
                    absl::Hex(absl::Uniform<uint8_t>(random), absl::kZeroPad2));
  }
  return hex;
}

}  // namespace

bool IsOperationName(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, kOperationPrefix) ||
      name.size() != 2 * kOperationIdBytes) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f');
  });
}

std::shared_ptr<BatchRunner> BatchRunner::Create(
    const config::v1::BatchConfig& config, int chunks_in_flight,
    const OperationServices& services, OperationStore& store,
    const Logger& logger) {
  auto runner = std::make_shared<BatchRunner>(config, chunks_in_flight,
                                              services, store, logger);
  if (store.shared()) {
    runner->RenewLease();
    runner->services_.timers.ScheduleAfter(
        runner->cancel_poll_interval_,
        [weak = std::weak_ptr<BatchRunner>(runner)] {
          if (auto self = weak.lock()) self->PollCancels();
        });
  }
  return runner;
}

BatchRunner::BatchRunner(const config::v1::BatchConfig& config,
                         int chunks_in_flight,
                         const OperationServices& services,
                         OperationStore& store, const Logger& logger)
    : max_running_(static_cast<int>(config.max_running())),
      max_queued_(static_cast<int>(config.max_queued())),
      inline_budget_(std::make_shared<ByteBudget>(config.max_inline_bytes())),
      lease_interval_(ToAbsl(config.lease_interval())),
      cancel_poll_interval_(ToAbsl(config.cancel_poll_interval())),
      services_(services),
      store_(store),
      logger_(logger) {
  settings_.files_in_flight = static_cast<int>(config.max_files_in_flight());
  settings_.chunk_slots = chunks_in_flight;
  settings_.file_timeout = ToAbsl(config.file_timeout());
  settings_.result_ttl = ToAbsl(config.result_ttl());
  settings_.owner =
      absl::StrFormat("%s-%d-%s", RandomHex(4), getpid(), RandomHex(4));
}

void BatchRunner::Persist(const StoredOperation& record, bool create) {
  {
    absl::MutexLock lock(&mu_);
    ++unsaved_;
  }
  std::weak_ptr<BatchRunner> weak = weak_from_this();
  store_.Put(
      record, create,
      [weak, name = record.operation().name()](absl::Status saved) {
        auto self = weak.lock();
        if (self == nullptr) return;
        if (!saved.ok() && !absl::IsNotFound(saved)) {
          self->logger_.Warning(
              "operation not saved",
              {{"operation", name}, {"error", std::string(saved.message())}});
        }
        absl::MutexLock lock(&self->mu_);
        --self->unsaved_;
      });
}

void BatchRunner::Submit(v1::BatchTranscribeRequest request,
                         BatchCaller caller, OperationDone done) {
  // The audio the batch carries, held until its job is gone.
  const auto inline_bytes = static_cast<int64_t>(request.ByteSizeLong());
  if (!inline_budget_->TryTake(inline_bytes)) {
    return done(absl::ResourceExhaustedError(absl::StrCat(
        "batch.max_inline_bytes (", inline_budget_->limit(),
        " bytes) of inline audio are held by the batches on this replica; "
        "this one carries ",
        inline_bytes,
        ": retry later, or give the files as audio.uri (fetched as they "
        "run)")));
  }
  std::shared_ptr<void> hold(
      nullptr, [budget = inline_budget_, inline_bytes](void*) {
        budget->Give(inline_bytes);
      });
  {
    absl::MutexLock lock(&mu_);
    absl::Status refused;
    if (shutting_down_) {
      refused = absl::UnavailableError(
          "the gateway is shutting down; submit the batch to another replica");
    } else if (static_cast<int>(queued_.size()) + storing_ >= max_queued_) {
      // Counted with the batches still being stored: those checks and their
      // stores do not interleave.
      refused = absl::ResourceExhaustedError(
          absl::StrCat("batch.max_queued (", max_queued_,
                       ") batches already wait on this replica; retry later"));
    }
    if (!refused.ok()) return done(refused);
    ++storing_;
  }
  std::weak_ptr<BatchRunner> weak = weak_from_this();
  auto job = std::make_shared<BatchJob>(
      absl::StrCat(kOperationPrefix, RandomHex(kOperationIdBytes)),
      std::move(caller), std::move(request), settings_, services_,
      services_.timers.clock(),
      [weak](const StoredOperation& record, bool create) {
        if (auto self = weak.lock()) self->Persist(record, create);
      },
      std::move(hold));
  // Answered once the record is stored, so that any replica can be asked
  // about it at once. The job writes nothing before it starts.
  const StoredOperation first = job->Record();
  store_.Put(
      first, /*create=*/true,
      [weak, job, operation = first.operation(),
       done = std::move(done)](absl::Status stored) {
        auto self = weak.lock();
        if (self == nullptr) {
          return done(absl::UnavailableError("the gateway is shutting down"));
        }
        {
          absl::MutexLock lock(&self->mu_);
          --self->storing_;
        }
        if (!stored.ok()) {
          job->Stop(
              absl::UnavailableError("the operation could not be stored"));
          // The store's own code: UNAVAILABLE when down, RESOURCE_EXHAUSTED
          // when full.
          return done(absl::Status(
              stored.code(), absl::StrCat("the batch could not be stored: ",
                                          stored.message())));
        }
        {
          absl::MutexLock lock(&self->mu_);
          if (self->shutting_down_) {
            job->Stop(absl::UnavailableError("the gateway is shutting down"));
          } else {
            self->queued_.push_back(job);
          }
        }
        done(operation);
        self->StartNext();
      });
}

void BatchRunner::StartNext() {
  std::vector<std::shared_ptr<BatchJob>> starting;
  {
    absl::MutexLock lock(&mu_);
    while (!queued_.empty() &&
           static_cast<int>(running_.size()) < max_running_) {
      std::shared_ptr<BatchJob> job = std::move(queued_.front());
      queued_.pop_front();
      running_[job->name()] = job;
      starting.push_back(std::move(job));
    }
  }
  std::weak_ptr<BatchRunner> weak = weak_from_this();
  for (auto& job : starting) {
    job->Start([weak, name = job->name()] {
      if (auto self = weak.lock()) self->Ended(name);
    });
  }
}

void BatchRunner::Ended(const std::string& name) {
  {
    absl::MutexLock lock(&mu_);
    running_.erase(name);
  }
  // Not on the ending job's stack: it may be inside a file's completion.
  services_.timers.Post([weak = weak_from_this()] {
    if (auto self = weak.lock()) self->StartNext();
  });
}

bool BatchRunner::Cancel(const std::string& name) {
  std::shared_ptr<BatchJob> job;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = running_.find(name); it != running_.end()) {
      job = it->second;
    } else {
      for (auto queued = queued_.begin(); queued != queued_.end(); ++queued) {
        if ((*queued)->name() == name) {
          job = *queued;
          queued_.erase(queued);
          break;
        }
      }
    }
  }
  if (job == nullptr) return false;
  job->Stop(absl::CancelledError("the batch was cancelled (CancelOperation)"));
  return true;
}

void BatchRunner::Shutdown(absl::Duration wait) {
  std::vector<std::shared_ptr<BatchJob>> jobs;
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return;
    shutting_down_ = true;
    for (auto& [name, job] : running_) jobs.push_back(job);
    for (auto& job : queued_) jobs.push_back(job);
    queued_.clear();
  }
  if (!jobs.empty()) {
    logger_.Info("ending batches: the replica stops",
                 {{"batches", absl::StrCat(jobs.size())}});
  }
  for (auto& job : jobs) {
    job->Stop(absl::UnavailableError(
        "the gateway replica running the batch shut down before it finished; "
        "submit the files without a result again"));
  }
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(
      absl::Condition(
          +[](BatchRunner* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return self->running_.empty() && self->unsaved_ == 0;
          },
          this),
      wait);
}

int BatchRunner::running() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(running_.size());
}

int BatchRunner::queued() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(queued_.size());
}

void BatchRunner::RenewLease() {
  store_.RenewLease(replica_id(), 3 * lease_interval_);
  services_.timers.ScheduleAfter(lease_interval_, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->RenewLease();
  });
}

void BatchRunner::PollCancels() {
  std::vector<std::string> names;
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return;
    for (auto& [name, job] : running_) names.push_back(name);
    for (auto& job : queued_) names.push_back(job->name());
  }
  std::weak_ptr<BatchRunner> weak = weak_from_this();
  for (const std::string& name : names) {
    store_.CancelRequested(name, [weak, name](absl::StatusOr<bool> requested) {
      if (!requested.ok() || !*requested) return;
      if (auto self = weak.lock()) self->Cancel(name);
    });
  }
  services_.timers.ScheduleAfter(cancel_poll_interval_, [weak] {
    if (auto self = weak.lock()) self->PollCancels();
  });
}

}  // namespace voxgate::operations
