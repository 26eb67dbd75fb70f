#include <string>
#include <vector>

#include "call/chunk_budget.h"
#include "common/manual_clock.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "operations/memory_operation_store.h"

namespace voxgate::operations {
namespace {

using ::testing::ElementsAre;
using ::voxgate::testing::IsOk;

StoredOperation Record(const std::string& name, const std::string& tenant,
                       absl::Time created, absl::Duration ttl) {
  StoredOperation record;
  record.mutable_operation()->set_name(name);
  record.set_tenant(tenant);
  record.set_create_time_ms(absl::ToUnixMillis(created));
  record.set_expire_time_ms(absl::ToUnixMillis(created + ttl));
  return record;
}

absl::Status Put(OperationStore& store, const StoredOperation& record,
                 bool create) {
  absl::Status result = absl::InternalError("no answer");
  store.Put(record, create, [&](absl::Status status) { result = status; });
  return result;
}

absl::StatusOr<StoredOperation> Get(OperationStore& store,
                                    const std::string& name) {
  absl::StatusOr<StoredOperation> result = absl::InternalError("no answer");
  store.Get(name, [&](absl::StatusOr<StoredOperation> found) {
    result = std::move(found);
  });
  return result;
}

std::vector<std::string> List(OperationStore& store, const std::string& tenant,
                              int offset, int limit) {
  std::vector<std::string> names;
  store.List(tenant, offset, limit,
             [&](absl::StatusOr<std::vector<StoredOperation>> records) {
               ASSERT_THAT(records.status(), IsOk());
               for (const auto& record : *records) {
                 names.push_back(record.operation().name());
               }
             });
  return names;
}

TEST(MemoryOperationStoreTest, KeepsRecordsUntilTheyExpire) {
  ManualClock clock;
  MemoryOperationStore store(clock);
  ASSERT_THAT(
      Put(store, Record("operations/a", "t", clock.Now(), absl::Seconds(10)),
          true),
      IsOk());
  clock.Advance(absl::Seconds(9));
  EXPECT_THAT(Get(store, "operations/a").status(), IsOk());
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(absl::IsNotFound(Get(store, "operations/a").status()));
  EXPECT_EQ(store.size(), 0);
}

TEST(MemoryOperationStoreTest, ReplacingNeverRecreatesADeletedRecord) {
  ManualClock clock;
  MemoryOperationStore store(clock);
  StoredOperation record =
      Record("operations/a", "t", clock.Now(), absl::Hours(1));
  EXPECT_TRUE(absl::IsNotFound(Put(store, record, /*create=*/false)));
  ASSERT_THAT(Put(store, record, /*create=*/true), IsOk());
  record.mutable_operation()->set_done(true);
  ASSERT_THAT(Put(store, record, /*create=*/false), IsOk());
  EXPECT_TRUE(Get(store, "operations/a")->operation().done());
  absl::Status deleted = absl::InternalError("no answer");
  store.Delete("operations/a", "t", [&](absl::Status s) { deleted = s; });
  ASSERT_THAT(deleted, IsOk());
  EXPECT_TRUE(absl::IsNotFound(Put(store, record, /*create=*/false)));
  EXPECT_TRUE(absl::IsNotFound(Get(store, "operations/a").status()));
}

TEST(MemoryOperationStoreTest, ListsATenantsOwnNewestFirstInPages) {
  ManualClock clock;
  MemoryOperationStore store(clock);
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(Put(store,
                    Record(absl::StrCat("operations/", i), i == 2 ? "u" : "t",
                           clock.Now(), absl::Hours(1)),
                    true),
                IsOk());
    clock.Advance(absl::Seconds(1));
  }
  EXPECT_THAT(List(store, "t", 0, 2),
              ElementsAre("operations/4", "operations/3"));
  EXPECT_THAT(List(store, "t", 2, 2),
              ElementsAre("operations/1", "operations/0"));
  EXPECT_THAT(List(store, "t", 4, 2), ElementsAre());
  EXPECT_THAT(List(store, "u", 0, 10), ElementsAre("operations/2"));
}

TEST(ChunkBudgetTest, WakesEverySleeperWhenASlotFrees) {
  call::ChunkBudget budget(1);
  int woken = 0;
  EXPECT_TRUE(budget.TryTake([&] { ++woken; }));
  EXPECT_FALSE(budget.TryTake([&] { ++woken; }));
  EXPECT_FALSE(budget.TryTake([&] { ++woken; }));
  EXPECT_EQ(woken, 0);
  budget.Release();
  // Both sleepers try again; one gets the slot, the other sleeps anew.
  EXPECT_EQ(woken, 2);
  EXPECT_EQ(budget.free_slots(), 1);
  EXPECT_TRUE(budget.TryTake([&] { ++woken; }));
  EXPECT_FALSE(budget.TryTake([&] { ++woken; }));
  budget.Release();
  EXPECT_EQ(woken, 3);
}

}  // namespace
}  // namespace voxgate::operations
