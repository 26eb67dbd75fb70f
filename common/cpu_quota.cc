#include "common/cpu_quota.h"

#include <sched.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace voxgate {
namespace {

std::optional<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// cgroup v2 cpu.max: "max 100000" (no quota) or "150000 100000".
std::optional<double> ParseCpuMax(absl::string_view text) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(text), ' ', absl::SkipEmpty());
  double quota = 0, period = 0;
  if (fields.size() != 2 || !absl::SimpleAtod(fields[0], &quota) ||
      !absl::SimpleAtod(fields[1], &period) || quota <= 0 || period <= 0) {
    return std::nullopt;
  }
  return quota / period;
}

// cgroup v1: cpu.cfs_quota_us (-1 = none) over cpu.cfs_period_us.
std::optional<double> ReadCfsQuota(const std::string& dir) {
  const auto quota_text = ReadSmallFile(dir + "/cpu.cfs_quota_us");
  const auto period_text = ReadSmallFile(dir + "/cpu.cfs_period_us");
  double quota = 0, period = 0;
  if (!quota_text || !period_text ||
      !absl::SimpleAtod(absl::StripAsciiWhitespace(*quota_text), &quota) ||
      !absl::SimpleAtod(absl::StripAsciiWhitespace(*period_text), &period) ||
      quota <= 0 || period <= 0) {
    return std::nullopt;
  }
  return quota / period;
}

// The cgroup's directory and each ancestor's up to the mount: a quota set on
// a parent (the pod's cgroup above the container's) binds the child too.
std::vector<std::string> SelfAndAncestors(const std::string& mount,
                                          absl::string_view path) {
  std::vector<std::string> dirs;
  std::string relative(absl::StripSuffix(path, "/"));
  while (true) {
    dirs.push_back(mount + relative);
    if (relative.empty()) break;
    const size_t slash = relative.rfind('/');
    relative.resize(slash == std::string::npos ? 0 : slash);
  }
  return dirs;
}

void Tighten(CpuBudget& budget, std::optional<double> quota,
             const std::string& source) {
  if (!quota.has_value()) return;
  if (budget.quota_cpus.has_value() && *budget.quota_cpus <= *quota) return;
  budget.quota_cpus = quota;
  budget.quota_source = source;
}

}  // namespace

int CpuBudget::usable_cpus() const {
  int cpus = std::max(1, affinity_cpus);
  if (quota_cpus.has_value()) {
    cpus = std::min(cpus, static_cast<int>(std::ceil(*quota_cpus - 1e-9)));
  }
  return std::max(1, cpus);
}

CpuBudget CpuBudgetFrom(absl::string_view proc_self_cgroup,
                        const std::string& cgroup_root, int affinity_cpus) {
  CpuBudget budget;
  budget.affinity_cpus = std::max(1, affinity_cpus);
  for (absl::string_view line :
       absl::StrSplit(proc_self_cgroup, '\n', absl::SkipEmpty())) {
    // "hierarchy-id:controllers:path"; the path may itself hold colons.
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (parts.size() != 3) continue;
    const absl::string_view controllers = parts[1];
    const absl::string_view path = parts[2];
    if (parts[0] == "0" && controllers.empty()) {
      // cgroup v2: the unified hierarchy is mounted at the root itself (pure
      // v2) or at "unified" beside the v1 controllers (hybrid).
      for (const std::string& mount : {cgroup_root, cgroup_root + "/unified"}) {
        for (const std::string& dir : SelfAndAncestors(mount, path)) {
          const std::string file = dir + "/cpu.max";
          if (auto text = ReadSmallFile(file)) {
            Tighten(budget, ParseCpuMax(*text), file);
          }
        }
      }
      continue;
    }
    const std::vector<absl::string_view> names =
        absl::StrSplit(controllers, ',');
    if (std::find(names.begin(), names.end(), "cpu") == names.end()) continue;
    for (const std::string& dir :
         SelfAndAncestors(cgroup_root + "/" + std::string(controllers), path)) {
      Tighten(budget, ReadCfsQuota(dir), dir + "/cpu.cfs_quota_us");
    }
  }
  return budget;
}

CpuBudget CurrentCpuBudget() {
  int affinity = static_cast<int>(std::thread::hardware_concurrency());
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) affinity = CPU_COUNT(&set);
  const std::string cgroup =
      ReadSmallFile("/proc/self/cgroup").value_or(std::string());
  return CpuBudgetFrom(cgroup, "/sys/fs/cgroup", affinity);
}

}  // namespace voxgate
