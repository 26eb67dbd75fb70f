#include "call/admission.h"

#include <optional>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/manual_clock.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate::call {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

// Collects the later answer of a waiting call.
class LaterAnswer {
 public:
  Admission::Later Callback() {
    return [this](absl::StatusOr<Admission::Ticket> ticket) {
      EXPECT_FALSE(done_.HasBeenNotified()) << "answered twice";
      thread_ = std::this_thread::get_id();
      result_ = std::move(ticket);
      done_.Notify();
    };
  }
  absl::StatusOr<Admission::Ticket>& Wait() {
    EXPECT_TRUE(done_.WaitForNotificationWithTimeout(absl::Seconds(30)));
    return result_;
  }
  bool answered() const { return done_.HasBeenNotified(); }
  std::thread::id thread() const { return thread_; }

 private:
  absl::Notification done_;
  absl::StatusOr<Admission::Ticket> result_ = absl::UnknownError("unset");
  std::thread::id thread_;
};

class AdmissionTest : public ::testing::Test {
 protected:
  static AdmissionRequest Call(bool stream = false) {
    AdmissionRequest request;
    request.method = stream ? "StreamTranscribe" : "Chat";
    request.long_lived_stream = stream;
    return request;
  }
  ManualClock clock_;
  TimerQueue timers_{clock_};
};

TEST_F(AdmissionTest, AWaitingCallGetsTheNextFreeSlot) {
  Admission admission({1, 4, absl::Seconds(10)}, timers_);
  LaterAnswer unused, second;
  Admission::Decision first = admission.Admit(Call(), unused.Callback());
  ASSERT_TRUE(first.ticket.has_value());
  Admission::Decision waiting = admission.Admit(Call(), second.Callback());
  ASSERT_TRUE(waiting.waiting());
  EXPECT_FALSE(second.answered());
  first.ticket.reset();  // the first call ends
  EXPECT_THAT(second.Wait(), IsOk());
  EXPECT_EQ(admission.active(), 1);
  EXPECT_FALSE(unused.answered());
}

TEST_F(AdmissionTest, TheWaitIsBoundedInTimeAndInNumber) {
  Admission admission({1, 1, absl::Seconds(1)}, timers_);
  LaterAnswer none, waited;
  Admission::Decision held = admission.Admit(Call(), none.Callback());
  ASSERT_TRUE(admission.Admit(Call(), waited.Callback()).waiting());
  Admission::Decision refused = admission.Admit(Call(), none.Callback());
  EXPECT_THAT(refused.refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                        HasSubstr("limits.max_waiting_calls")));
  EXPECT_FALSE(waited.answered());
  clock_.Advance(absl::Seconds(1));  // the admission_wait passes
  EXPECT_THAT(waited.Wait(), StatusIs(absl::StatusCode::kResourceExhausted,
                                      HasSubstr("limits.admission_wait")));
  EXPECT_EQ(admission.rejections().wait_timeout, 1);
  EXPECT_EQ(admission.rejections().too_many_waiting, 1);
}

TEST_F(AdmissionTest, DrainingRefusesNewAndWaitingCalls) {
  Admission admission({1, 4, absl::Seconds(10)}, timers_);
  LaterAnswer none, waiting;
  Admission::Decision held = admission.Admit(Call(), none.Callback());
  ASSERT_TRUE(admission.Admit(Call(), waiting.Callback()).waiting());
  admission.StartDraining();
  EXPECT_THAT(waiting.Wait(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("draining")));
  EXPECT_THAT(admission.Admit(Call(), none.Callback()).refused,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("draining")));
}

TEST_F(AdmissionTest, ACancelledWaitEndsOnAnotherThreadAndLeavesTheQueue) {
  Admission admission({1, 4, absl::Seconds(10)}, timers_);
  LaterAnswer none, waited;
  Admission::Decision held = admission.Admit(Call(), none.Callback());
  Admission::Decision waiting = admission.Admit(Call(), waited.Callback());
  ASSERT_TRUE(waiting.waiting());
  admission.CancelWait(waiting.wait_id);
  EXPECT_THAT(waited.Wait(),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("waiting")));
  // Never inline on the cancelling thread, which may hold its call's lock.
  EXPECT_NE(waited.thread(), std::this_thread::get_id());
  held.ticket.reset();  // nobody waits any more: the slot is simply free
  EXPECT_EQ(admission.active(), 0);
}

TEST_F(AdmissionTest, StreamsBeyondMaxStreamsAreRefusedAndTheirSlotsReturn) {
  Admission limits({100, 4, absl::Seconds(1), 2}, timers_);
  LaterAnswer none;
  Admission::Decision a = limits.Admit(Call(true), none.Callback());
  Admission::Decision b = limits.Admit(Call(true), none.Callback());
  EXPECT_THAT(limits.Admit(Call(true), none.Callback()).refused,
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("limits.max_streams: 2")));
  // Unary calls do not count against the stream limit.
  EXPECT_TRUE(limits.Admit(Call(), none.Callback()).ticket.has_value());
  EXPECT_EQ(limits.active_streams(), 2);
  a.ticket.reset();
  EXPECT_EQ(limits.active_streams(), 1);
  EXPECT_TRUE(limits.Admit(Call(true), none.Callback()).ticket.has_value());
  EXPECT_EQ(limits.rejections().max_streams, 1);
}

TEST_F(AdmissionTest, LongPollsHoldNoCallSlotAndAreBoundedByTheirOwn) {
  // One call slot: a WaitOperation held for minutes must not take it.
  Admission limits({1, 4, absl::Seconds(1), 100, /*max_long_polls=*/2},
                   timers_);
  LaterAnswer none;
  AdmissionRequest poll = Call();
  poll.long_poll = true;
  Admission::Decision a = limits.Admit(poll, none.Callback());
  Admission::Decision b = limits.Admit(poll, none.Callback());
  ASSERT_TRUE(a.ticket.has_value() && b.ticket.has_value());
  EXPECT_EQ(limits.active(), 0);
  EXPECT_TRUE(limits.Admit(Call(), none.Callback()).ticket.has_value());
  EXPECT_THAT(limits.Admit(poll, none.Callback()).refused,
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("limits.max_long_polls: 2")));
  EXPECT_EQ(limits.rejections().max_long_polls, 1);
  a.ticket.reset();
  EXPECT_TRUE(limits.Admit(poll, none.Callback()).ticket.has_value());
}

// A check that refuses calls to one method, as an authorization step would,
// and grants the others a named tenant.
class TenantGrant final : public CallGrant {
 public:
  explicit TenantGrant(int* live) : live_(live) { ++*live_; }
  ~TenantGrant() override { --*live_; }
  const std::string& tenant() const override { return tenant_; }
  absl::Status CheckModel(absl::string_view) const override {
    return absl::OkStatus();
  }
  void Charge(const CallUsage&) override {}

 private:
  int* live_;
  const std::string tenant_ = "team-a";
};

class RefuseMethod final : public AdmissionCheck {
 public:
  explicit RefuseMethod(std::string method) : method_(std::move(method)) {}
  void Check(const AdmissionRequest& request, Done done) override {
    seen_peer_ = std::string(request.peer);
    if (request.method != method_) {
      done(std::make_unique<TenantGrant>(&live_grants_));
      return;
    }
    done(absl::PermissionDeniedError(
        absl::StrCat("method ", request.method, " is not allowed")));
  }
  // Knows every caller: these tests are about Check.
  absl::Status Authenticate(const CallerMetadata&,
                            absl::string_view) override {
    return absl::OkStatus();
  }
  std::string seen_peer_;
  int live_grants_ = 0;

 private:
  std::string method_;
};

TEST_F(AdmissionTest, ChecksRunForEveryCallAndTheirRefusalsAreCounted) {
  RefuseMethod check("ListModels");
  Admission admission({10, 4, absl::Seconds(1)}, timers_, &check);
  LaterAnswer none;
  AdmissionRequest request = Call();
  request.peer = "ipv4:127.0.0.1:1234";
  Admission::Decision admitted = admission.Admit(request, none.Callback());
  ASSERT_TRUE(admitted.ticket.has_value());
  ASSERT_NE(admitted.ticket->grant(), nullptr);
  EXPECT_EQ(admitted.ticket->grant()->tenant(), "team-a");
  EXPECT_EQ(check.seen_peer_, "ipv4:127.0.0.1:1234");
  request.method = "ListModels";
  EXPECT_THAT(
      admission.Admit(request, none.Callback()).refused,
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("ListModels")));
  const Admission::Rejections rejections = admission.rejections();
  ASSERT_EQ(rejections.by_check.size(), 1u);
  EXPECT_EQ(rejections.by_check[0].first, "permission_denied");
  EXPECT_EQ(rejections.by_check[0].second, 1);
  EXPECT_EQ(check.live_grants_, 1);
  admitted.ticket.reset();  // the grant ends with the ticket
  EXPECT_EQ(check.live_grants_, 0);
}

// A check whose answer comes later, as a shared limits store's does.
class LateCheck final : public AdmissionCheck {
 public:
  void Check(const AdmissionRequest&, Done done) override {
    absl::MutexLock lock(&mu_);
    pending_.push_back(std::move(done));
  }
  absl::Status Authenticate(const CallerMetadata&,
                            absl::string_view) override {
    return absl::OkStatus();
  }
  // Answers the oldest pending check on a thread of its own.
  void Answer(absl::StatusOr<std::unique_ptr<CallGrant>> answer) {
    Done done;
    {
      absl::MutexLock lock(&mu_);
      ASSERT_FALSE(pending_.empty());
      done = std::move(pending_.front());
      pending_.erase(pending_.begin());
    }
    std::thread([done = std::move(done), &answer] {
      done(std::move(answer));
    }).join();
  }

 private:
  absl::Mutex mu_;
  std::vector<Done> pending_ ABSL_GUARDED_BY(mu_);
};

TEST_F(AdmissionTest, ALateCheckAnswerAdmitsOrRefusesOffTheCallersThread) {
  LateCheck check;
  Admission admission({10, 4, absl::Seconds(1)}, timers_, &check);
  LaterAnswer admitted, refused;
  Admission::Decision first = admission.Admit(Call(), admitted.Callback());
  Admission::Decision second = admission.Admit(Call(), refused.Callback());
  ASSERT_TRUE(first.waiting());
  ASSERT_TRUE(second.waiting());
  EXPECT_EQ(admission.active(), 0);  // no slot until the check says so
  int live = 0;
  check.Answer(std::make_unique<TenantGrant>(&live));
  check.Answer(absl::ResourceExhaustedError("requests_per_minute.general"));
  ASSERT_THAT(admitted.Wait(), IsOk());
  EXPECT_NE(admitted.thread(), std::this_thread::get_id());
  EXPECT_EQ((*admitted.Wait()).grant()->tenant(), "team-a");
  EXPECT_EQ(admission.active(), 1);
  EXPECT_THAT(refused.Wait(), StatusIs(absl::StatusCode::kResourceExhausted,
                                       HasSubstr("requests_per_minute")));
  EXPECT_EQ(admission.rejections().by_check[0].first, "resource_exhausted");
}

TEST_F(AdmissionTest, CancelWhileCheckingEndsTheWaitAndDropsTheLateGrant) {
  LateCheck check;
  Admission admission({10, 4, absl::Seconds(1)}, timers_, &check);
  LaterAnswer cancelled;
  Admission::Decision waiting = admission.Admit(Call(), cancelled.Callback());
  ASSERT_TRUE(waiting.waiting());
  admission.CancelWait(waiting.wait_id);
  EXPECT_THAT(cancelled.Wait(),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("cancelled")));
  int live = 0;
  check.Answer(std::make_unique<TenantGrant>(&live));
  EXPECT_EQ(live, 0);  // the grant nobody took is freed
  EXPECT_EQ(admission.active(), 0);
}

TEST_F(AdmissionTest, ACheckedCallThatQueuesForASlotCanStillBeCancelled) {
  LateCheck check;
  Admission admission({1, 4, absl::Seconds(10)}, timers_, &check);
  LaterAnswer first, second;
  Admission::Decision a = admission.Admit(Call(), first.Callback());
  Admission::Decision b = admission.Admit(Call(), second.Callback());
  check.Answer(std::unique_ptr<CallGrant>());
  ASSERT_THAT(first.Wait(), IsOk());
  check.Answer(std::unique_ptr<CallGrant>());  // b now waits for a's slot
  EXPECT_FALSE(second.answered());
  admission.CancelWait(b.wait_id);  // the id from Admit still names it
  EXPECT_THAT(second.Wait(),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("cancelled")));
  first.Wait() = absl::CancelledError("released");  // frees the slot
  EXPECT_EQ(admission.active(), 0);
  EXPECT_TRUE(a.waiting() && b.waiting());  // both waited for the check
}

TEST_F(AdmissionTest, DrainingRefusesCallsWhoseCheckAnswersLate) {
  LateCheck check;
  Admission admission({10, 4, absl::Seconds(1)}, timers_, &check);
  LaterAnswer refused;
  ASSERT_TRUE(admission.Admit(Call(), refused.Callback()).waiting());
  admission.StartDraining();
  check.Answer(std::unique_ptr<CallGrant>());
  EXPECT_THAT(refused.Wait(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("draining")));
}

}  // namespace
}  // namespace voxgate::call
