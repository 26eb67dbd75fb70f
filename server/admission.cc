#include "server/admission.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace voxgate::server {
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
    for (const Waiter& waiter : waiting) {
      if (waiter.stream) --active_streams_;
    }
  }
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
  Decision decision;
  {
    absl::MutexLock lock(&mu_);
    if (draining_) {
      ++rejections_.draining;
      decision.refused = Draining();
      return decision;
    }
  }
  for (AdmissionCheck* check : checks_) {
    if (absl::Status status = check->Check(request); !status.ok()) {
      absl::MutexLock lock(&mu_);
      auto& by_check = rejections_.by_check;
      auto it = std::find_if(by_check.begin(), by_check.end(),
                             [&](auto& e) { return e.first == check->name(); });
      if (it == by_check.end()) {
        by_check.emplace_back(std::string(check->name()), 1);
      } else {
        ++it->second;
      }
      decision.refused = std::move(status);
      return decision;
    }
  }
  absl::MutexLock lock(&mu_);
  if (request.long_lived_stream && active_streams_ >= limits_.max_streams) {
    ++rejections_.max_streams;
    decision.refused = absl::ResourceExhaustedError(
        absl::StrCat("limits.max_streams: ", limits_.max_streams,
                     " streams are open; retry later or on another replica"));
    return decision;
  }
  if (active_ < limits_.max_calls) {
    ++active_;
    if (request.long_lived_stream) ++active_streams_;
    decision.ticket.emplace(Ticket(this, request.long_lived_stream));
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
  if (request.long_lived_stream) ++active_streams_;
  decision.wait_id = waiting_.Push(
      {std::move(later), request.long_lived_stream},
      timers_.Now() + limits_.max_wait, [this](uint64_t id) { Expire(id); });
  return decision;
}

void Admission::Release(bool stream) {
  Later next;
  bool next_is_stream;
  {
    absl::MutexLock lock(&mu_);
    if (stream) --active_streams_;
    if (waiting_.empty() || draining_) {
      --active_;
      return;
    }
    // The slot passes straight to the longest waiter.
    Waiter waiter = waiting_.PopFront();
    next = std::move(waiter.later);
    next_is_stream = waiter.stream;
  }
  next(Ticket(this, next_is_stream));
}

void Admission::Expire(uint64_t id) {
  std::optional<Waiter> waiter;
  {
    absl::MutexLock lock(&mu_);
    waiter = waiting_.Take(id);
    if (!waiter.has_value()) return;
    ++rejections_.wait_timeout;
    if (waiter->stream) --active_streams_;
  }
  waiter->later(absl::ResourceExhaustedError(absl::StrCat(
      "no call slot freed within ", absl::FormatDuration(limits_.max_wait),
      " (limits.admission_wait; limits.max_concurrent_calls is ",
      limits_.max_calls, "); retry later")));
}

void Admission::CancelWait(uint64_t id) {
  std::optional<Waiter> waiter;
  {
    absl::MutexLock lock(&mu_);
    waiter = waiting_.Take(id);
    if (!waiter.has_value()) return;
    if (waiter->stream) --active_streams_;
  }
  // Never on the cancelling thread: it may hold locks `later` takes.
  timers_.Post([later = std::move(waiter->later)] {
    later(absl::CancelledError(
        "the caller cancelled while waiting for a call slot"));
  });
}

}  // namespace voxgate::server
