#ifndef VOXGATE_COMMON_CLOCK_H_
#define VOXGATE_COMMON_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace voxgate {

// Where time comes from. Everything that times out, backs off or ejects reads
// the clock it was given (through its TimerQueue), so tests can drive time with
// a ManualClock instead of sleeping. Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  // With `mu` held, waits until `condition` holds or the clock reaches
  // `deadline`; returns with `mu` held, true when the condition holds.
  virtual bool AwaitWithDeadline(absl::Mutex& mu,
                                 const absl::Condition& condition,
                                 absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) = 0;
};

// The system's clock. Stateless, so one instance serves the whole process.
Clock& RealClock();

}  // namespace voxgate

#endif  // VOXGATE_COMMON_CLOCK_H_
