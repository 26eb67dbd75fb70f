// BatchTranscribe and google.longrunning.Operations through the real voxgate
// process (under ASan in the test command) against a fake upstream: a batch
// with a bad file, a cancel that reaches the upstream, and a SIGTERM while a
// batch runs.

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/longrunning/operations.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/audio_fixtures.h"
#include "tests/fake_upstream/fake_upstream.h"
#include "tests/gateway_process.h"
#include "voxgate/v1/batch.pb.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::testing {
namespace {

namespace lro = google::longrunning;
using ::testing::HasSubstr;

constexpr char kConfig[] = R"(
pools:
  - name: whisper
    protocol: openai_transcriptions
    endpoints: [{url: "AUDIO/v1", max_concurrency: 16}]
    models: [whisper-1]
    health_check: {path: ""}
routing: {audio_pool: whisper}
batch: {max_files_in_flight: 2}
server: {drain_timeout: 5s}
)";

class BatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fake = FakeUpstream::Start();
    ASSERT_TRUE(fake.ok()) << fake.status();
    fake_ = *std::move(fake);
    auto gateway = GatewayProcess::Start(absl::StrReplaceAll(
        kConfig,
        {{"AUDIO", absl::StrCat("http://127.0.0.1:", fake_->port())}}));
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    stub_ = v1::VoxgateService::NewStub(gateway_->channel());
    operations_ = lro::Operations::NewStub(gateway_->channel());
  }

  // Files of 1, 2, ... seconds of tone, then `bad` files that are not audio.
  lro::Operation Submit(int good, int bad) {
    v1::BatchTranscribeRequest request;
    for (int i = 0; i < good + bad; ++i) {
      v1::BatchFile* file = request.add_files();
      file->set_id(absl::StrCat("file-", i));
      file->mutable_audio()->set_content(i < good ? ToneWav(440, 1 + i, 16000, 1)
                                                  : "no audio in here at all");
    }
    grpc::ClientContext context;
    lro::Operation operation;
    grpc::Status status = stub_->BatchTranscribe(&context, request, &operation);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return operation;
  }

  lro::Operation Wait(const std::string& name) {
    lro::WaitOperationRequest request;
    request.set_name(name);
    request.mutable_timeout()->set_seconds(30);
    grpc::ClientContext context;
    lro::Operation operation;
    grpc::Status status =
        operations_->WaitOperation(&context, request, &operation);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return operation;
  }

  // Polls the fake's in-flight count for up to 10 s.
  bool InFlightReaches(int count, bool at_least) {
    for (int i = 0; i < 1000; ++i) {
      const int now = fake_->in_flight();
      if (at_least ? now >= count : now == count) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }

  std::unique_ptr<FakeUpstream> fake_;
  std::unique_ptr<GatewayProcess> gateway_;
  std::unique_ptr<v1::VoxgateService::Stub> stub_;
  std::unique_ptr<lro::Operations::Stub> operations_;
};

TEST_F(BatchTest, EveryFileGetsItsResultOrItsErrorAndTheOperationCanBeDeleted) {
  const lro::Operation started = Submit(3, 1);
  EXPECT_THAT(started.name(), HasSubstr("operations/batch-"));
  const lro::Operation done = Wait(started.name());
  ASSERT_TRUE(done.done());
  v1::BatchTranscribeResponse response;
  ASSERT_TRUE(done.response().UnpackTo(&response));
  ASSERT_EQ(response.results_size(), 4);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(response.results(i).id(), absl::StrCat("file-", i));
    EXPECT_THAT(response.results(i).result().text(), HasSubstr("at 16000 Hz"));
  }
  EXPECT_EQ(response.results(3).error().code(),
            static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  v1::BatchTranscribeMetadata metadata;
  ASSERT_TRUE(done.metadata().UnpackTo(&metadata));
  EXPECT_EQ(metadata.files_done(), 4);
  EXPECT_EQ(metadata.files_failed(), 1);

  grpc::ClientContext delete_context;
  lro::DeleteOperationRequest forget;
  forget.set_name(started.name());
  google::protobuf::Empty empty;
  ASSERT_TRUE(
      operations_->DeleteOperation(&delete_context, forget, &empty).ok());
  grpc::ClientContext get_context;
  lro::GetOperationRequest get;
  get.set_name(started.name());
  lro::Operation gone;
  EXPECT_EQ(operations_->GetOperation(&get_context, get, &gone).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(BatchTest, CancelEndsTheOperationAndItsUpstreamRequests) {
  FakeBehavior hang;
  hang.hang = true;
  fake_->SetDefault(hang);
  const lro::Operation started = Submit(6, 0);
  ASSERT_TRUE(InFlightReaches(2, /*at_least=*/true));
  grpc::ClientContext context;
  lro::CancelOperationRequest cancel;
  cancel.set_name(started.name());
  google::protobuf::Empty empty;
  ASSERT_TRUE(operations_->CancelOperation(&context, cancel, &empty).ok());
  const lro::Operation done = Wait(started.name());
  ASSERT_TRUE(done.done());
  EXPECT_EQ(done.error().code(), static_cast<int>(grpc::StatusCode::CANCELLED));
  EXPECT_TRUE(InFlightReaches(0, /*at_least=*/false));
  // Only the two files in flight ever reached the upstream.
  EXPECT_EQ(fake_->Requests().size(), 2u);
}

TEST_F(BatchTest, SigtermWhileABatchRunsEndsItAndTheGatewayExitsCleanly) {
  FakeBehavior hang;
  hang.hang = true;
  fake_->SetDefault(hang);
  Submit(4, 0);
  ASSERT_TRUE(InFlightReaches(2, /*at_least=*/true));
  absl::StatusOr<int> exit_code = gateway_->Terminate(absl::Seconds(60));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0) << gateway_->Log();
  EXPECT_THAT(gateway_->Log(), HasSubstr("ending batches"));
  EXPECT_TRUE(InFlightReaches(0, /*at_least=*/false));
}

}  // namespace
}  // namespace voxgate::testing
