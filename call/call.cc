#include "call/call.h"

#include "absl/strings/str_cat.h"
#include "call/call_end.h"

namespace voxgate::call {

Call::Call(const Method& method, const CallServices& services,
           absl::string_view request_id, absl::Time deadline,
           std::function<std::shared_ptr<void>()> hold)
    : method_(method),
      services_(services),
      hold_(std::move(hold)),
      context_(NewCallContext(request_id, deadline, services.default_deadline,
                              services.clock.Now())) {
  services_.metrics.Started(method_.name);
}

absl::Status Call::Authenticate(const Caller& caller) const {
  Admission& admission = services_.admission;
  if (!admission.has_checks() || caller.metadata == nullptr) {
    return absl::OkStatus();
  }
  return admission.Authenticate(*caller.metadata, caller.identity);
}

void Call::Admit(const Caller& caller, int64_t request_bytes,
                 std::optional<absl::string_view> model,
                 std::function<void(absl::Status)> admitted) {
  const std::shared_ptr<void> hold = Hold();
  AdmissionRequest request;
  request.method = method_.name;
  request.method_class = method_.method_class;
  request.long_lived_stream = method_.long_lived_stream;
  request.long_poll = method_.long_poll;
  request.peer = caller.peer;
  request.identity = caller.identity;
  request.model = model.value_or("");
  request.model_known = model.has_value();
  request.metadata = caller.metadata;
  request.request_bytes = request_bytes;
  Admission& admission = services_.admission;
  const CancelScope::Key key = work_.Reserve();
  // The call cannot end while it waits: the callback is its only way on.
  Admission::Decision decision = admission.Admit(
      request,
      [this, key, hold, admitted](absl::StatusOr<Admission::Ticket> ticket) {
        work_.Done(key);
        Admitted(std::move(ticket), admitted);
      });
  if (decision.waiting()) {
    work_.Attach(
        key, [&admission, id = decision.wait_id] { admission.CancelWait(id); });
    return;
  }
  work_.Done(key);
  if (decision.ticket.has_value()) {
    Admitted(*std::move(decision.ticket), admitted);
  } else {
    Admitted(decision.refused, admitted);
  }
}

void Call::Admitted(absl::StatusOr<Admission::Ticket> ticket,
                    const std::function<void(absl::Status)>& admitted) {
  if (!ticket.ok()) return admitted(ticket.status());
  {
    absl::MutexLock lock(&mu_);
    ticket_.emplace(*std::move(ticket));
    AttachGrant(*ticket_, context_);
    KeepDeadlineLocked();
  }
  context_.queue_time = services_.clock.Now() - context_.started;
  admitted(absl::OkStatus());
}

void Call::KeepDeadlineLocked() {
  if (services_.deadline_timers == nullptr || method_.long_lived_stream ||
      method_.long_poll || context_.deadline == absl::InfiniteFuture()) {
    return;
  }
  // The timer holds the call; End cancels it, which lets the hold go.
  deadline_timer_ = services_.deadline_timers->Schedule(
      context_.deadline, [this, hold = Hold()] {
        {
          absl::MutexLock lock(&mu_);
          if (ended_.has_value()) return;
          cancelled_at_deadline_ = true;
        }
        work_.Cancel();
      });
}

void Call::RunStarted(
    const std::function<std::function<void()>(std::function<void()> done)>&
        start) {
  const std::shared_ptr<void> hold = Hold();
  work_.Run(start);
}

void Call::Cancel() {
  {
    absl::MutexLock lock(&mu_);
    // The caller's own deadline timer usually fires a little before the
    // server's copy of it expires: a cancel that close to it is the
    // deadline.
    if (services_.clock.Now() + kDeadlineSlack >= context_.deadline) {
      cancelled_at_deadline_ = true;
    }
  }
  work_.Cancel();
}

absl::Status Call::End(const absl::Status& status) {
  TimerQueue::TimerId deadline_timer = 0;
  absl::Status ended = EndOnce(status, deadline_timer);
  // Outside mu_: the timer's callback takes it.
  if (deadline_timer != 0) services_.deadline_timers->Cancel(deadline_timer);
  return ended;
}

absl::Status Call::EndOnce(const absl::Status& status,
                           TimerQueue::TimerId& deadline_timer) {
  absl::MutexLock lock(&mu_);
  if (ended_.has_value()) return *ended_;
  deadline_timer = std::exchange(deadline_timer_, 0);
  const absl::Time now = services_.clock.Now();
  total_ = now - context_.started;
  const bool by_deadline = status.code() == absl::StatusCode::kCancelled &&
                           (cancelled_at_deadline_ || now >= context_.deadline);
  const absl::Status ending =
      by_deadline ? absl::DeadlineExceededError("the call's deadline passed")
                  : status;
  ended_ = RecordCallEnd(context_, method_.name, pool_, ending, total_,
                         services_.logger, services_.metrics);
  ChargeUsage(ticket_, context_, method_.name, ending.code());
  ticket_.reset();
  return *ended_;
}

bool Call::ended() const {
  absl::MutexLock lock(&mu_);
  return ended_.has_value();
}

std::vector<std::pair<std::string, std::string>> Call::Timing() const {
  absl::MutexLock lock(&mu_);
  if (!ended_.has_value()) return {};
  return TimingFields(context_, total_);
}

CallScope Call::scope() { return {context_, work_, pool_, hold_}; }

absl::Time StreamWatchdog::NextCheck(const CallContext& call,
                                     absl::Time idle_since,
                                     absl::Time now) const {
  absl::Time when = call.deadline;
  if (idle_timeout_ > absl::ZeroDuration()) {
    when = std::min(when, idle_since + idle_timeout_);
  }
  if (call.grant != nullptr) {
    when = std::min(when, now + kRevocationCheckInterval);
  }
  return when;
}

absl::Status StreamWatchdog::Check(const CallContext& call, absl::Time now,
                                   bool reading,
                                   absl::Time read_started) const {
  if (absl::Status revoked = RevocationOf(call.grant); !revoked.ok()) {
    return revoked;
  }
  if (now >= call.deadline) {
    return absl::DeadlineExceededError(
        "the stream reached its deadline (the caller's, or "
        "limits.default_stream_deadline when it set none)");
  }
  if (reading && idle_timeout_ > absl::ZeroDuration() &&
      now - read_started >= idle_timeout_) {
    return absl::DeadlineExceededError(absl::StrCat(
        "no message from the client for ", absl::FormatDuration(idle_timeout_),
        " (limits.stream_idle_timeout); ", how_to_end_));
  }
  return absl::OkStatus();
}

}  // namespace voxgate::call
