#include "server/admission.h"

#include <optional>

#include "absl/synchronization/notification.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate::server {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

class AdmissionTest : public ::testing::Test {
 protected:
  // Admits synchronously when it can; otherwise the result lands later.
  std::optional<absl::StatusOr<Admission::Ticket>> TryAdmit(
      Admission& admission, uint64_t* id = nullptr) {
    std::optional<absl::StatusOr<Admission::Ticket>> result;
    const uint64_t wait =
        admission.Admit([&result](absl::StatusOr<Admission::Ticket> t) {
          result = std::move(t);
        });
    if (id != nullptr) *id = wait;
    return result;
  }
  TimerQueue timers_;
};

TEST_F(AdmissionTest, AWaitingCallGetsTheNextFreeSlot) {
  Admission admission({1, 4, absl::Seconds(10)}, timers_);
  auto first = TryAdmit(admission);
  ASSERT_TRUE(first.has_value());
  ASSERT_THAT(*first, IsOk());
  absl::Notification admitted;
  std::optional<absl::StatusOr<Admission::Ticket>> second;
  admission.Admit([&](absl::StatusOr<Admission::Ticket> t) {
    second = std::move(t);
    admitted.Notify();
  });
  EXPECT_FALSE(admitted.HasBeenNotified());
  first.reset();  // the first call ends
  ASSERT_TRUE(admitted.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_THAT(*second, IsOk());
  EXPECT_EQ(admission.active(), 1);
}

TEST_F(AdmissionTest, TheWaitIsBoundedInTimeAndInNumber) {
  Admission admission({1, 1, absl::Milliseconds(50)}, timers_);
  auto held = TryAdmit(admission);
  absl::Notification done;
  absl::Status waited;
  admission.Admit([&](absl::StatusOr<Admission::Ticket> t) {
    waited = t.status();
    done.Notify();
  });
  auto refused = TryAdmit(admission);  // one already waits
  ASSERT_TRUE(refused.has_value());
  EXPECT_THAT(*refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                 HasSubstr("limits.max_waiting_calls")));
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_THAT(waited, StatusIs(absl::StatusCode::kResourceExhausted,
                               HasSubstr("limits.admission_wait")));
}

TEST_F(AdmissionTest, DrainingRefusesNewAndWaitingCalls) {
  Admission admission({1, 4, absl::Seconds(10)}, timers_);
  auto held = TryAdmit(admission);
  std::optional<absl::StatusOr<Admission::Ticket>> waiting;
  admission.Admit(
      [&](absl::StatusOr<Admission::Ticket> t) { waiting = std::move(t); });
  admission.StartDraining();
  ASSERT_TRUE(waiting.has_value());
  EXPECT_THAT(*waiting,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("draining")));
  auto late = TryAdmit(admission);
  EXPECT_THAT(*late,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("draining")));
}

TEST_F(AdmissionTest, CancelledWaitersLeaveTheQueue) {
  Admission admission({1, 4, absl::Seconds(10)}, timers_);
  auto held = TryAdmit(admission);
  absl::Status waited = absl::UnknownError("not called");
  const uint64_t id = admission.Admit(
      [&waited](absl::StatusOr<Admission::Ticket> t) { waited = t.status(); });
  ASSERT_NE(id, 0u);
  admission.CancelWait(id);
  EXPECT_THAT(waited,
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("waiting")));
  held.reset();  // nobody waits any more: the slot is simply free
  EXPECT_EQ(admission.active(), 0);
}

}  // namespace
}  // namespace voxgate::server
