#include "tenancy/tenant_gate.h"

#include <cstdlib>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/manual_clock.h"
#include "common/retry_info.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tenancy/api_key.h"
#include "tenancy/local_limiter.h"

namespace voxgate::tenancy {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

class MapMetadata final : public call::CallerMetadata {
 public:
  explicit MapMetadata(std::map<std::string, std::string> values)
      : values_(std::move(values)) {}
  std::optional<absl::string_view> Find(absl::string_view key) const override {
    auto it = values_.find(std::string(key));
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, std::string> values_;
};

class TenantGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(path_) << absl::StrCat(
        R"(
tenants:
  - name: search
    methods: [Chat, StreamTranscribe, Metrics]
    models: [llama3, default]
    identities: ["spiffe://example/web"]
    limits:
      max_concurrent_calls: 2
      max_streams: 1
      requests_per_minute: {general: 3}
  - name: open
keys:
  - {id: ")",
        key_.id, R"(", tenant: search, hash: ")", key_.hash, R"("}
  - {id: ")",
        open_key_.id, R"(", tenant: open, hash: ")", open_key_.hash, R"("}
)");
    auto store = KeysStore::Start(path_, absl::Seconds(5), timers_, logger_,
                                  [this](const KeyRing&) {
                                    absl::MutexLock lock(&mu_);
                                    ++loads_;
                                  });
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
    gate_ = std::make_unique<TenantGate>(*store_, limiter_, metrics_);
  }

  // The gate's inline answer.
  absl::StatusOr<std::unique_ptr<call::CallGrant>> Admit(
      std::map<std::string, std::string> metadata,
      absl::string_view method = "Chat", absl::string_view model = "llama3",
      bool stream = false, absl::string_view identity = "") {
    MapMetadata caller(std::move(metadata));
    call::AdmissionRequest request;
    request.method = method;
    request.model = model;
    request.model_known = true;
    request.long_lived_stream = stream;
    request.metadata = &caller;
    request.identity = identity;
    absl::StatusOr<std::unique_ptr<call::CallGrant>> answer =
        absl::UnknownError("not answered inline");
    gate_->Check(request, [&](auto grant) { answer = std::move(grant); });
    return answer;
  }
  std::map<std::string, std::string> Bearer() {
    return {{"authorization", "Bearer " + key_.key}};
  }

  // Waits (on the event, with a deadline) until the keys file has been
  // loaded `n` times.
  bool AwaitLoads(int n) {
    absl::MutexLock lock(&mu_);
    wanted_loads_ = n;
    return mu_.AwaitWithTimeout(
        absl::Condition(
            +[](TenantGateTest* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return self->loads_ >= self->wanted_loads_;
            },
            this),
        absl::Seconds(30));
  }

  absl::Mutex mu_;
  int loads_ ABSL_GUARDED_BY(mu_) = 0;
  int wanted_loads_ ABSL_GUARDED_BY(mu_) = 0;
  const MintedKey key_ = MintKey();
  const MintedKey open_key_ = MintKey();
  const std::string path_ =
      std::string(std::getenv("TEST_TMPDIR")) + "/keys.yaml";
  ManualClock clock_;
  TimerQueue timers_{clock_};
  Logger logger_{LogLevel::kError};
  prometheus::Registry registry_;
  TenantMetrics metrics_{registry_};
  LocalLimiter limiter_{clock_};
  std::unique_ptr<KeysStore> store_;
  std::unique_ptr<TenantGate> gate_;
};

TEST_F(TenantGateTest, AKeyInEitherHeaderNamesTheTenant) {
  auto bearer = Admit(Bearer());
  ASSERT_THAT(bearer, IsOk());
  EXPECT_EQ((*bearer)->tenant(), "search");
  auto header = Admit({{"x-api-key", key_.key}});
  ASSERT_THAT(header, IsOk());
  EXPECT_EQ((*header)->tenant(), "search");
}

TEST_F(TenantGateTest, MissingOrUnknownKeysAreUnauthenticatedWithoutEcho) {
  EXPECT_THAT(Admit({}), StatusIs(absl::StatusCode::kUnauthenticated,
                                  HasSubstr("an API key is required")));
  const std::string wrong = MintKey().key;
  auto refused = Admit({{"authorization", "Bearer " + wrong}});
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kUnauthenticated,
                                HasSubstr("not valid")));
  EXPECT_THAT(std::string(refused.status().message()),
              Not(HasSubstr(wrong.substr(4, 12))));
}

TEST_F(TenantGateTest, AListedClientCertificateIdentityAuthenticates) {
  auto admitted = Admit({}, "Chat", "llama3", false, "spiffe://example/web");
  ASSERT_THAT(admitted, IsOk());
  EXPECT_EQ((*admitted)->tenant(), "search");
  EXPECT_THAT(
      Admit({}, "Chat", "llama3", false, "spiffe://example/other"),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("not listed")));
}

TEST_F(TenantGateTest, MethodsAndModelsOutsideTheTenantsListsAreDenied) {
  EXPECT_THAT(
      Admit(Bearer(), "Transcribe"),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("Transcribe")));
  EXPECT_THAT(
      Admit(Bearer(), "Chat", "gpt-4o"),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("gpt-4o")));
  EXPECT_THAT(Admit(Bearer(), "Chat", ""), IsOk());  // "default" is listed
  auto stream = Admit(Bearer(), "StreamTranscribe", "", true);
  ASSERT_THAT(stream, IsOk());
  // A stream names its model in its first message, checked then.
  EXPECT_THAT(
      (*stream)->CheckModel("whisper-1"),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("whisper-1")));
  EXPECT_THAT(gate_->AuthorizeMetrics(MapMetadata(Bearer())), IsOk());
  EXPECT_THAT(gate_->AuthorizeMetrics(MapMetadata({})),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("key")));
}

TEST_F(TenantGateTest, ConcurrentCallsAndStreamsAreCappedUntilOneEnds) {
  auto first = Admit(Bearer(), "StreamTranscribe", "", true);
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(Admit(Bearer(), "StreamTranscribe", "", true),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("max_streams (1")));
  auto second = Admit(Bearer());
  ASSERT_THAT(second, IsOk());
  const auto refused = Admit(Bearer());
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("max_concurrent_calls (2")));
  EXPECT_TRUE(RetryDelay(refused.status()).has_value());
  first->reset();  // the stream ends: its slots free
  EXPECT_THAT(Admit(Bearer()), IsOk());
}

// A tenant with no concurrency limits of its own gets the default share of
// the replica's: one key cannot take every call slot.
TEST_F(TenantGateTest, ATenantWithoutLimitsGetsTheDefaultShare) {
  gate_ = std::make_unique<TenantGate>(*store_, limiter_, metrics_,
                                       DefaultShare{2, 1, 50});
  const std::map<std::string, std::string> open = {
      {"authorization", "Bearer " + open_key_.key}};
  auto stream = Admit(open, "StreamTranscribe", "", true);
  ASSERT_THAT(stream, IsOk());
  EXPECT_THAT(Admit(open, "StreamTranscribe", "", true),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("max_streams (1, the default share: 50% of "
                                 "limits.max_streams,")));
  auto call = Admit(open);
  ASSERT_THAT(call, IsOk());
  const auto refused = Admit(open);
  EXPECT_THAT(refused,
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("max_concurrent_calls (2, the default share: "
                                 "50% of limits.max_concurrent_calls,")));
  EXPECT_TRUE(RetryDelay(refused.status()).has_value());
  // Its own limits win over the share: "search" sets 2 calls and 1 stream.
  EXPECT_THAT(Admit(Bearer()), IsOk());
  call->reset();
  EXPECT_THAT(Admit(open), IsOk());
}

TEST_F(TenantGateTest, RequestsBeyondTheMinutesLimitAreRefusedWithRetry) {
  for (int i = 0; i < 3; ++i) ASSERT_THAT(Admit(Bearer()), IsOk());
  const auto refused = Admit(Bearer());
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("requests_per_minute.general (3")));
  EXPECT_EQ(RetryDelay(refused.status()), absl::Seconds(60));
}

TEST_F(TenantGateTest, AnEditedKeysFileIsUsedAfterTheNextLook) {
  ASSERT_THAT(Admit(Bearer()), IsOk());
  const MintedKey other = MintKey();
  std::ofstream(path_, std::ios::trunc)
      << absl::StrCat("tenants: [{name: ops}]\nkeys:\n  - {id: \"", other.id,
                      "\", tenant: ops, hash: \"", other.hash, "\"}\n");
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(AwaitLoads(2));  // the first load and this reload
  EXPECT_THAT(Admit(Bearer()), StatusIs(absl::StatusCode::kUnauthenticated,
                                        HasSubstr("not valid")));
  auto ops = Admit({{"x-api-key", other.key}}, "Transcribe", "any");
  ASSERT_THAT(ops, IsOk());
  EXPECT_EQ((*ops)->tenant(), "ops");
}

}  // namespace
}  // namespace voxgate::tenancy
