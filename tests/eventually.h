#ifndef VOXGATE_TESTS_EVENTUALLY_H_
#define VOXGATE_TESTS_EVENTUALLY_H_

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace voxgate::testing {

// Waits until `condition` holds, looking again every `interval`, for at most
// `timeout`; returns whether it held. The one polling loop of the tests, for
// what has no event to wait on (a count kept by another process, a gauge).
// The timeout is a ceiling for a hang, never a margin a result depends on.
inline bool Eventually(const std::function<bool()>& condition,
                       absl::Duration timeout = absl::Seconds(30),
                       absl::Duration interval = absl::Milliseconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(interval);
  }
  return true;
}

}  // namespace voxgate::testing

#endif  // VOXGATE_TESTS_EVENTUALLY_H_
