#include "upstream/retrying_call.h"

#include <optional>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "upstream/openai_protocol.h"

namespace voxgate::upstream {
namespace {

constexpr std::size_t kMaxErrorBody = 64 * 1024;

class RetryingCall;
// The call whose Start() or Cancel() this thread is inside, if any: that call
// must not report its end on this thread.
thread_local const RetryingCall* t_starting_or_cancelling = nullptr;

class NoEndOnThisThread {
 public:
  explicit NoEndOnThisThread(const RetryingCall* call)
      : previous_(std::exchange(t_starting_or_cancelling, call)) {}
  NoEndOnThisThread(const NoEndOnThisThread&) = delete;
  NoEndOnThisThread& operator=(const NoEndOnThisThread&) = delete;
  ~NoEndOnThisThread() { t_starting_or_cancelling = previous_; }

 private:
  const RetryingCall* const previous_;
};

class RetryingCall final : public Transfer,
                           public std::enable_shared_from_this<RetryingCall> {
 public:
  RetryingCall(const PoolContext& context, const CallOptions& options,
               RequestBuilder build, std::shared_ptr<ResponseObserver> observer)
      : context_(context),
        options_(options),
        build_(std::move(build)),
        observer_(std::move(observer)) {}

  void Start() {
    NoEndOnThisThread guard(this);
    context_.budget.OnRequest();
    NextAttempt();
  }
  void Cancel() override;
  void Resume() override;

  void OnAttemptHeaders(int status_code, const HttpHeaders& headers);
  bool OnAttemptData(absl::string_view data);
  void OnAttemptDone(absl::Status status);

 private:
  void NextAttempt();
  void OnGranted(absl::StatusOr<Lease> lease);
  // Schedules another attempt when policy, budget and deadline allow.
  // Connect failures never reached the server and do not spend the retry
  // budget.
  bool MaybeRetry(absl::Duration retry_after, bool spends_budget = true);
  void Finish(absl::Status status);
  void CountAttempt(const std::optional<Lease>& lease, AttemptOutcome outcome) {
    if (context_.metrics == nullptr || !lease.has_value()) return;
    context_.metrics->Attempt(lease->endpoint_index(), outcome,
                              context_.timers.clock().Now() - attempt_started_);
  }
  absl::Status Annotate(const absl::Status& status) const {
    if (status.ok() || status.code() == absl::StatusCode::kCancelled)
      return status;
    const std::string prefix =
        absl::StrCat("pool ", context_.pool.name(), ": ");
    if (absl::StartsWith(status.message(), prefix))
      return status;  // the pool's
    return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
  }

  const PoolContext context_;
  const CallOptions options_;
  const RequestBuilder build_;
  std::shared_ptr<ResponseObserver> observer_;

  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  int attempts_ ABSL_GUARDED_BY(mu_) = 0;
  int last_endpoint_ ABSL_GUARDED_BY(mu_) = -1;
  uint64_t wait_id_ ABSL_GUARDED_BY(mu_) = 0;
  TimerQueue::TimerId backoff_timer_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<Transfer> transfer_ ABSL_GUARDED_BY(mu_);
  std::optional<Lease> lease_ ABSL_GUARDED_BY(mu_);
  absl::BitGen random_ ABSL_GUARDED_BY(mu_);

  // Attempt state, touched only from the HTTP loop thread (one attempt at a
  // time).
  bool committed_ = false;
  int error_status_ = 0;
  HttpHeaders error_headers_;
  std::string error_body_;
  // Set before the wait or the attempt they time begins.
  absl::Time wait_started_;
  absl::Time attempt_started_;
};

// Forwards one attempt's events to its call.
class AttemptObserver final : public ResponseObserver {
 public:
  explicit AttemptObserver(std::shared_ptr<RetryingCall> call)
      : call_(std::move(call)) {}
  void OnHeaders(int status_code, const HttpHeaders& headers) override {
    call_->OnAttemptHeaders(status_code, headers);
  }
  bool OnData(absl::string_view data) override {
    return call_->OnAttemptData(data);
  }
  void OnDone(absl::Status status) override {
    call_->OnAttemptDone(std::move(status));
  }

 private:
  std::shared_ptr<RetryingCall> call_;
};

void RetryingCall::NextAttempt() {
  int avoid;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return;
    backoff_timer_ = 0;
    avoid = last_endpoint_;
  }
  std::shared_ptr<RetryingCall> self = shared_from_this();
  wait_started_ = context_.timers.clock().Now();
  const uint64_t id = context_.pool.Acquire(
      options_.deadline, avoid, [self](absl::StatusOr<Lease> lease) {
        self->OnGranted(std::move(lease));
      });
  absl::MutexLock lock(&mu_);
  if (!lease_.has_value() && !finished_) wait_id_ = id;
}

void RetryingCall::OnGranted(absl::StatusOr<Lease> granted) {
  if (!granted.ok()) {
    Finish(Annotate(granted.status()));
    return;
  }
  Lease lease = std::move(*granted);
  attempt_started_ = context_.timers.clock().Now();
  if (options_.endpoints != nullptr) {
    options_.endpoints->Add(lease.url());
    options_.endpoints->AddSlotWait(attempt_started_ - wait_started_);
  }
  if (context_.metrics != nullptr)
    context_.metrics->QueueWait(attempt_started_ - wait_started_);
  absl::StatusOr<HttpRequest> request = build_(lease.url());
  if (!request.ok()) {
    lease.Release(Outcome::kNeutral);
    Finish(request.status());
    return;
  }
  request->deadline = options_.deadline;
  request->connect_timeout = context_.connect_timeout;
  if (request->first_byte_timeout == absl::ZeroDuration())
    request->first_byte_timeout = context_.first_byte_timeout;
  if (request->stall_timeout == absl::ZeroDuration())
    request->stall_timeout = context_.stall_timeout;
  for (const auto& header : context_.headers)
    request->headers.push_back(header);
  if (!options_.request_id.empty()) {
    request->headers.emplace_back("x-request-id", options_.request_id);
  }
  int attempt = 0;
  {
    absl::MutexLock lock(&mu_);
    wait_id_ = 0;
    if (!cancelled_) {
      attempt = ++attempts_;
      last_endpoint_ = lease.endpoint_index();
      // Stored before the transfer starts: its completion may come at once.
      lease_.emplace(std::move(lease));
    }
  }
  if (attempt == 0) {
    lease.Release(Outcome::kNeutral);
    Finish(absl::CancelledError("upstream request cancelled by the caller"));
    return;
  }
  committed_ = false;
  error_status_ = 0;
  error_headers_.clear();
  error_body_.clear();
  std::shared_ptr<Transfer> transfer = context_.http.Start(
      *std::move(request),
      std::make_shared<AttemptObserver>(shared_from_this()));
  bool cancel_now = false;
  {
    absl::MutexLock lock(&mu_);
    // A fast failure may already have started the next attempt; keep its
    // handle.
    if (attempts_ == attempt && lease_.has_value()) transfer_ = transfer;
    cancel_now = cancelled_;
  }
  if (cancel_now) transfer->Cancel();
}

void RetryingCall::OnAttemptHeaders(int status_code,
                                    const HttpHeaders& headers) {
  if (context_.metrics != nullptr)
    context_.metrics->FirstByte(context_.timers.clock().Now() -
                                attempt_started_);
  if (status_code >= 200 && status_code < 300) {
    committed_ = true;
    observer_->OnHeaders(status_code, headers);
  } else {
    error_status_ = status_code;
    error_headers_ = headers;
  }
}

bool RetryingCall::OnAttemptData(absl::string_view data) {
  if (committed_) return observer_->OnData(data);
  if (error_body_.size() < kMaxErrorBody) {
    error_body_.append(
        data.data(), std::min(data.size(), kMaxErrorBody - error_body_.size()));
  }
  return true;
}

bool RetryingCall::MaybeRetry(absl::Duration retry_after, bool spends_budget) {
  absl::MutexLock lock(&mu_);
  if (cancelled_ || attempts_ >= context_.policy.max_attempts) return false;
  const absl::Duration cap =
      std::min(context_.policy.max_backoff,
               context_.policy.base_backoff *
                   (int64_t{1} << std::min(attempts_ - 1, 20)));
  absl::Duration delay = absl::Nanoseconds(
      absl::Uniform<int64_t>(random_, 0, absl::ToInt64Nanoseconds(cap) + 1));
  delay = std::max(delay, retry_after);
  if (context_.timers.clock().Now() + delay >= options_.deadline) return false;
  if (spends_budget && !context_.budget.TryRetry()) return false;
  if (context_.metrics != nullptr) context_.metrics->Retry();
  backoff_timer_ = context_.timers.ScheduleAfter(
      delay, [self = shared_from_this()] { self->NextAttempt(); });
  return true;
}

void RetryingCall::OnAttemptDone(absl::Status status) {
  std::optional<Lease> lease;
  bool cancelled;
  {
    absl::MutexLock lock(&mu_);
    lease.swap(lease_);
    transfer_.reset();
    cancelled = cancelled_;
  }
  auto release = [&lease](Outcome outcome) {
    if (lease.has_value()) lease->Release(outcome);
  };

  if (cancelled) {
    CountAttempt(lease, AttemptOutcome::kCancelled);
    release(Outcome::kNeutral);
    Finish(absl::CancelledError("upstream request cancelled by the caller"));
    return;
  }
  if (committed_) {
    CountAttempt(lease, status.ok() ? AttemptOutcome::kSuccess
                        : status.code() == absl::StatusCode::kDeadlineExceeded
                            ? AttemptOutcome::kTimeout
                            : AttemptOutcome::kError);
    release(status.ok() || status.code() == absl::StatusCode::kDeadlineExceeded
                ? Outcome::kSuccess
                : Outcome::kFailure);
    Finish(Annotate(status));
    return;
  }
  if (status.ok()) {
    // A complete answer with a non-2xx status.
    CountAttempt(lease, error_status_ >= 500 ? AttemptOutcome::kHttp5xx
                                             : AttemptOutcome::kHttp4xx);
    release(error_status_ >= 500 ? Outcome::kFailure : Outcome::kNeutral);
    if (IsRetryableHttpStatus(error_status_)) {
      absl::Duration retry_after = absl::ZeroDuration();
      for (const auto& [name, value] : error_headers_) {
        int seconds;
        if (name == "retry-after" && absl::SimpleAtoi(value, &seconds) &&
            seconds > 0) {
          retry_after = absl::Seconds(seconds);
        }
      }
      if (MaybeRetry(retry_after)) return;
    }
    observer_->OnHeaders(error_status_, error_headers_);
    observer_->OnData(error_body_);
    Finish(absl::OkStatus());
    return;
  }
  // A transport failure before any 2xx status line.
  const bool before_any_byte = error_status_ == 0;
  CountAttempt(lease, status.code() == absl::StatusCode::kDeadlineExceeded
                          ? AttemptOutcome::kTimeout
                      : status.code() == absl::StatusCode::kCancelled
                          ? AttemptOutcome::kCancelled
                          : AttemptOutcome::kError);
  release(status.code() == absl::StatusCode::kUnavailable ? Outcome::kFailure
                                                          : Outcome::kNeutral);
  if (status.code() == absl::StatusCode::kUnavailable && before_any_byte &&
      MaybeRetry(absl::ZeroDuration(), !IsConnectFailure(status))) {
    return;
  }
  Finish(Annotate(status));
}

void RetryingCall::Finish(absl::Status status) {
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
  }
  if (t_starting_or_cancelling == this) {
    context_.timers.Post(
        [self = shared_from_this(), status = std::move(status)]() mutable {
          self->observer_->OnDone(std::move(status));
        });
    return;
  }
  observer_->OnDone(std::move(status));
}

void RetryingCall::Cancel() {
  NoEndOnThisThread guard(this);
  std::shared_ptr<Transfer> transfer;
  uint64_t wait_id;
  TimerQueue::TimerId timer;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_ || finished_) return;
    cancelled_ = true;
    transfer = transfer_;
    wait_id = wait_id_;
    timer = backoff_timer_;
  }
  if (transfer != nullptr) {
    transfer->Cancel();  // OnAttemptDone finishes the call
  } else if (wait_id != 0) {
    context_.pool.CancelWait(wait_id);  // the grant finishes the call
  } else if (timer != 0 && context_.timers.Cancel(timer)) {
    Finish(absl::CancelledError("upstream request cancelled by the caller"));
  }
}

void RetryingCall::Resume() {
  std::shared_ptr<Transfer> transfer;
  {
    absl::MutexLock lock(&mu_);
    transfer = transfer_;
  }
  if (transfer != nullptr) transfer->Resume();
}

}  // namespace

std::shared_ptr<Transfer> StartWithRetries(
    const PoolContext& context, const CallOptions& options,
    RequestBuilder build, std::shared_ptr<ResponseObserver> observer) {
  auto call = std::make_shared<RetryingCall>(context, options, std::move(build),
                                             std::move(observer));
  call->Start();
  return call;
}

}  // namespace voxgate::upstream
