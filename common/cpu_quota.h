#ifndef VOXGATE_COMMON_CPU_QUOTA_H_
#define VOXGATE_COMMON_CPU_QUOTA_H_

// How many CPUs this process may really use. A container limited to 8 CPUs
// on a 64-core node sees 64 in std::thread::hardware_concurrency(); sizing
// worker pools (and the embedded engine's ~100 MB decoders) from that loads
// eight times too much. The kernel enforces the limit through the cgroup's
// CPU quota, which this reads.

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace voxgate {

struct CpuBudget {
  // CPUs in the affinity mask (cpusets, taskset).
  int affinity_cpus = 1;
  // The tightest CPU quota of the process's cgroup and its ancestors, in
  // CPUs (cgroup v2 cpu.max "quota period", or v1 cpu.cfs_quota_us /
  // cpu.cfs_period_us); empty when none is set ("max", -1) or unreadable.
  std::optional<double> quota_cpus;
  // Where the quota came from (a cpu.max or cpu.cfs_quota_us path), for the
  // start-up log line.
  std::string quota_source;

  // Worker threads to run: the quota rounded up (a 1.5-CPU pod gets 2),
  // never more than the affinity mask allows, at least 1.
  int usable_cpus() const;
};

// Reads the budget of the calling process: /proc/self/cgroup, /sys/fs/cgroup
// and sched_getaffinity. Never fails; what cannot be read is left out.
CpuBudget CurrentCpuBudget();

// The same from given inputs, for tests: `proc_self_cgroup` is the text of
// /proc/self/cgroup and `cgroup_root` where the hierarchy is mounted
// (cgroup v2 unified at the root, v1 controllers in subdirectories named as
// in that file, e.g. "cpu,cpuacct").
CpuBudget CpuBudgetFrom(absl::string_view proc_self_cgroup,
                        const std::string& cgroup_root, int affinity_cpus);

}  // namespace voxgate

#endif  // VOXGATE_COMMON_CPU_QUOTA_H_
