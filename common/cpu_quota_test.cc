#include "common/cpu_quota.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate {
namespace {

namespace fs = std::filesystem;

class CpuQuotaTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void Write(const std::string& relative, const std::string& text) {
    const fs::path path = root_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  fs::path root_;
};

TEST_F(CpuQuotaTest, EightCpuQuotaOnASixtyFourCoreNodeGivesEight) {
  Write("kubepods/pod1/ctr/cpu.max", "800000 100000\n");
  const CpuBudget budget =
      CpuBudgetFrom("0::/kubepods/pod1/ctr\n", root_.string(), 64);
  ASSERT_TRUE(budget.quota_cpus.has_value());
  EXPECT_DOUBLE_EQ(*budget.quota_cpus, 8.0);
  EXPECT_EQ(budget.usable_cpus(), 8);
  EXPECT_THAT(budget.quota_source, testing::EndsWith("ctr/cpu.max"));
}

TEST_F(CpuQuotaTest, AQuotaOnAnAncestorBindsTheChild) {
  Write("kubepods/pod1/cpu.max", "200000 100000\n");
  Write("kubepods/pod1/ctr/cpu.max", "max 100000\n");
  const CpuBudget budget =
      CpuBudgetFrom("0::/kubepods/pod1/ctr\n", root_.string(), 64);
  EXPECT_EQ(budget.usable_cpus(), 2);
  EXPECT_THAT(budget.quota_source, testing::EndsWith("pod1/cpu.max"));
}

TEST_F(CpuQuotaTest, AFractionalQuotaRoundsUp) {
  Write("cpu.max", "150000 100000");
  EXPECT_EQ(CpuBudgetFrom("0::/\n", root_.string(), 16).usable_cpus(), 2);
}

TEST_F(CpuQuotaTest, NoQuotaLeavesTheAffinityMask) {
  Write("cpu.max", "max 100000\n");
  const CpuBudget budget = CpuBudgetFrom("0::/\n", root_.string(), 6);
  EXPECT_FALSE(budget.quota_cpus.has_value());
  EXPECT_EQ(budget.usable_cpus(), 6);
}

TEST_F(CpuQuotaTest, TheAffinityMaskCapsAGenerousQuota) {
  Write("cpu.max", "1600000 100000\n");
  EXPECT_EQ(CpuBudgetFrom("0::/\n", root_.string(), 4).usable_cpus(), 4);
}

TEST_F(CpuQuotaTest, CgroupV1CfsQuotaIsReadInHybridMounts) {
  Write("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "300000\n");
  Write("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
  const CpuBudget budget = CpuBudgetFrom(
      "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/docker/abc\n",
      root_.string(), 32);
  EXPECT_EQ(budget.usable_cpus(), 3);
  EXPECT_THAT(budget.quota_source, testing::EndsWith("cpu.cfs_quota_us"));
}

TEST_F(CpuQuotaTest, UnreadableOrMalformedFilesAreIgnored) {
  Write("cpu.max", "garbage");
  Write("cpu/cpu.cfs_quota_us", "-1\n");
  Write("cpu/cpu.cfs_period_us", "100000\n");
  const CpuBudget budget =
      CpuBudgetFrom("1:cpu:/\n0::/\nnot a cgroup line\n", root_.string(), 3);
  EXPECT_FALSE(budget.quota_cpus.has_value());
  EXPECT_EQ(budget.usable_cpus(), 3);
  EXPECT_EQ(CpuBudgetFrom("", "/nonexistent", 0).usable_cpus(), 1);
}

TEST_F(CpuQuotaTest, TheCurrentProcessHasAtLeastOneCpu) {
  const CpuBudget budget = CurrentCpuBudget();
  EXPECT_GE(budget.affinity_cpus, 1);
  EXPECT_GE(budget.usable_cpus(), 1);
  EXPECT_LE(budget.usable_cpus(), budget.affinity_cpus);
}

}  // namespace
}  // namespace voxgate
