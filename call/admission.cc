#include "call/admission.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace voxgate::call {
namespace {

absl::Status Draining() {
  return absl::UnavailableError(
      "voxgate is draining for shutdown; retry on another replica");
}

}  // namespace

void Admission::StartDraining() {
  std::vector<Waiter> waiting;
  {
    absl::MutexLock lock(&mu_);
    draining_ = true;
    waiting = waiting_.TakeAll();
    rejections_.draining += static_cast<int64_t>(waiting.size());
    for (const Waiter& waiter : waiting) LeftQueueLocked(waiter);
  }
  // Calls still being checked are refused as their answers come.
  for (Waiter& waiter : waiting) waiter.later(Draining());
}

bool Admission::draining() const {
  absl::MutexLock lock(&mu_);
  return draining_;
}

int Admission::active() const {
  absl::MutexLock lock(&mu_);
  return active_;
}

int Admission::active_streams() const {
  absl::MutexLock lock(&mu_);
  return active_streams_;
}

Admission::Rejections Admission::rejections() const {
  absl::MutexLock lock(&mu_);
  return rejections_;
}

Admission::Decision Admission::Admit(const AdmissionRequest& request,
                                     Later later) {
  const bool stream = request.long_lived_stream;
  const bool long_poll = request.long_poll;
  Decision decision;
  if (check_ == nullptr) {
    absl::MutexLock lock(&mu_);
    if (long_poll) return TakeLongPollLocked(nullptr);
    return TakeSlotLocked(stream, nullptr, std::move(later), 0);
  }
  {
    absl::MutexLock lock(&mu_);
    if (draining_) {
      ++rejections_.draining;
      decision.refused = Draining();
      return decision;
    }
  }
  auto checking = std::make_shared<Checking>();
  checking->later = std::move(later);
  checking->stream = stream;
  checking->long_poll = long_poll;
  uint64_t id;
  {
    absl::MutexLock lock(&mu_);
    id = kCheckBit | next_check_id_++;
    checking_.emplace(id, checking);
  }
  check_->Check(request, [this, id, checking](
                             absl::StatusOr<std::unique_ptr<CallGrant>> grant) {
    OnChecked(id, checking, std::move(grant));
  });
  absl::MutexLock lock(&mu_);
  checking->returned = true;
  if (!checking->early.has_value()) {
    decision.wait_id = id;  // the answer comes later, to OnChecked
    return decision;
  }
  checking_.erase(id);
  absl::StatusOr<std::unique_ptr<CallGrant>> grant =
      *std::move(checking->early);
  if (!grant.ok()) {
    CountCheckRefusalLocked(grant.status());
    decision.refused = grant.status();
    return decision;
  }
  if (long_poll) return TakeLongPollLocked(*std::move(grant));
  return TakeSlotLocked(stream, *std::move(grant), std::move(checking->later),
                        0);
}

void Admission::OnChecked(uint64_t id, std::shared_ptr<Checking> checking,
                          absl::StatusOr<std::unique_ptr<CallGrant>> grant) {
  Decision decision;
  {
    absl::MutexLock lock(&mu_);
    if (!checking->returned) {  // inline: Admit() takes it from here
      checking->early.emplace(std::move(grant));
      return;
    }
    // Gone when the caller cancelled; its `later` has run already.
    if (checking_.erase(id) == 0) return;
    if (!grant.ok()) {
      CountCheckRefusalLocked(grant.status());
      decision.refused = grant.status();
    } else if (checking->long_poll) {
      decision = TakeLongPollLocked(*std::move(grant));
    } else {
      decision = TakeSlotLocked(checking->stream, *std::move(grant),
                                checking->later, id);
      if (decision.waiting()) {
        queued_after_check_[id] = decision.wait_id;
        return;
      }
    }
  }
  if (decision.ticket.has_value()) {
    checking->later(*std::move(decision.ticket));
  } else {
    checking->later(decision.refused);
  }
}

Admission::Decision Admission::TakeSlotLocked(bool stream,
                                              std::unique_ptr<CallGrant> grant,
                                              Later later, uint64_t check_id) {
  Decision decision;
  if (draining_) {
    ++rejections_.draining;
    decision.refused = Draining();
    return decision;
  }
  if (stream && active_streams_ >= limits_.max_streams) {
    ++rejections_.max_streams;
    decision.refused = absl::ResourceExhaustedError(
        absl::StrCat("limits.max_streams: ", limits_.max_streams,
                     " streams are open; retry later or on another replica"));
    return decision;
  }
  if (active_ < limits_.max_calls) {
    ++active_;
    if (stream) ++active_streams_;
    decision.ticket.emplace(Ticket(this, stream, std::move(grant)));
    return decision;
  }
  if (waiting_.size() >= limits_.max_waiting ||
      limits_.max_wait <= absl::ZeroDuration()) {
    ++rejections_.too_many_waiting;
    decision.refused = absl::ResourceExhaustedError(absl::StrCat(
        "voxgate is at its limit of ", limits_.max_calls,
        " concurrent calls (limits.max_concurrent_calls) with ",
        waiting_.size(), " waiting (limits.max_waiting_calls); retry later"));
    return decision;
  }
  // A waiting stream holds its stream slot already, so that the streams let
  // through never exceed the limit.
  if (stream) ++active_streams_;
  decision.wait_id = waiting_.Push(
      {std::move(later), stream, std::move(grant), check_id},
      timers_.Now() + limits_.max_wait, [this](uint64_t id) { Expire(id); });
  return decision;
}

Admission::Decision Admission::TakeLongPollLocked(
    std::unique_ptr<CallGrant> grant) {
  Decision decision;
  if (draining_) {
    ++rejections_.draining;
    decision.refused = Draining();
    return decision;
  }
  if (active_long_polls_ >= limits_.max_long_polls) {
    ++rejections_.max_long_polls;
    decision.refused = absl::ResourceExhaustedError(absl::StrCat(
        "limits.max_long_polls: ", limits_.max_long_polls,
        " WaitOperation calls are waiting; poll with GetOperation or retry "
        "later"));
    return decision;
  }
  ++active_long_polls_;
  decision.ticket.emplace(
      Ticket(this, /*stream=*/false, std::move(grant), /*long_poll=*/true));
  return decision;
}

void Admission::ReleaseLongPoll() {
  absl::MutexLock lock(&mu_);
  --active_long_polls_;
}

void Admission::CountCheckRefusalLocked(const absl::Status& status) {
  const std::string reason =
      absl::AsciiStrToLower(absl::StatusCodeToString(status.code()));
  auto& by_check = rejections_.by_check;
  auto it = std::find_if(by_check.begin(), by_check.end(),
                         [&](auto& e) { return e.first == reason; });
  if (it == by_check.end()) {
    by_check.emplace_back(reason, 1);
  } else {
    ++it->second;
  }
}

void Admission::LeftQueueLocked(const Waiter& waiter) {
  if (waiter.stream) --active_streams_;
  if (waiter.check_id != 0) queued_after_check_.erase(waiter.check_id);
}

void Admission::Release(bool stream) {
  Waiter next;
  {
    absl::MutexLock lock(&mu_);
    if (stream) --active_streams_;
    if (waiting_.empty() || draining_) {
      --active_;
      return;
    }
    // The slot passes straight to the longest waiter.
    next = waiting_.PopFront();
    if (next.check_id != 0) queued_after_check_.erase(next.check_id);
  }
  next.later(Ticket(this, next.stream, std::move(next.grant)));
}

void Admission::Expire(uint64_t id) {
  std::optional<Waiter> waiter;
  {
    absl::MutexLock lock(&mu_);
    waiter = waiting_.Take(id);
    if (!waiter.has_value()) return;
    ++rejections_.wait_timeout;
    LeftQueueLocked(*waiter);
  }
  waiter->later(absl::ResourceExhaustedError(absl::StrCat(
      "no call slot freed within ", absl::FormatDuration(limits_.max_wait),
      " (limits.admission_wait; limits.max_concurrent_calls is ",
      limits_.max_calls, "); retry later")));
}

void Admission::CancelWait(uint64_t id) {
  Later later;
  {
    absl::MutexLock lock(&mu_);
    if ((id & kCheckBit) != 0) {
      if (auto it = checking_.find(id); it != checking_.end()) {
        later = std::move(it->second->later);
        checking_.erase(it);  // its answer, when it comes, is dropped
      } else if (auto queued = queued_after_check_.find(id);
                 queued != queued_after_check_.end()) {
        id = queued->second;
      } else {
        return;
      }
    }
    if (!later) {
      std::optional<Waiter> waiter = waiting_.Take(id);
      if (!waiter.has_value()) return;
      LeftQueueLocked(*waiter);
      later = std::move(waiter->later);
    }
  }
  // Never on the cancelling thread: it may hold locks `later` takes.
  timers_.Post([later = std::move(later)] {
    later(absl::CancelledError(
        "the caller cancelled while waiting for a call slot"));
  });
}

}  // namespace voxgate::call
