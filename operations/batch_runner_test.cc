#include "operations/batch_runner.h"

#include <memory>
#include <string>

#include "common/logging.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "operations/memory_operation_store.h"
#include "operations/operation_test_base.h"
#include "tests/audio_fixtures.h"
#include "tests/eventually.h"

namespace voxgate::operations {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;

class BatchRunnerTest : public OperationTest {
 protected:
  BatchRunnerTest()
      : store_(clock_),
        logger_(LogLevel::kError),
        runner_(BatchRunner::Create(config_.batch(), 2, services_, store_,
                                    logger_)) {
    for (const char* id : {"first", "second"}) {
      v1::BatchFile* file = request_.add_files();
      file->set_id(id);
      file->mutable_audio()->set_content(testing::SpeechWav("Hello there."));
    }
  }
  ~BatchRunnerTest() override { runner_->Shutdown(absl::Seconds(10)); }

  // The operation as the store holds it now.
  google::longrunning::Operation Stored(const std::string& name) {
    google::longrunning::Operation operation;
    store_.Get(name, [&](absl::StatusOr<StoredOperation> record) {
      if (record.ok()) operation = record->operation();
    });  // the memory store answers at once
    return operation;
  }
  std::string Submit() {
    Outcome<google::longrunning::Operation> submitted;
    runner_->Submit(request_, BatchCaller{}, submitted.Callback());
    absl::StatusOr<google::longrunning::Operation> operation =
        submitted.Await();
    EXPECT_THAT(operation.status(), IsOk());
    EXPECT_FALSE(operation->done());
    return operation.ok() ? operation->name() : "";
  }

  MemoryOperationStore store_;
  Logger logger_;
  std::shared_ptr<BatchRunner> runner_;
  v1::BatchTranscribeRequest request_;
};

TEST_F(BatchRunnerTest, AFailedFileIsReportedAloneAndTheOthersSucceed) {
  const std::string name = Submit();
  ASSERT_TRUE(IsOperationName(name)) << name;
  // Both files run at once (one chunk each).
  ASSERT_TRUE(transcription().requests.WaitFor(2));
  upstream::Transcription hello;
  hello.text = "hello there";
  // Which file's chunk came first is up to the workers; the results say
  // which file failed, and must keep request order whatever it was.
  ASSERT_TRUE(transcription().Answer(0, hello));
  ASSERT_TRUE(transcription().Answer(1, absl::UnavailableError("fake: 503")));
  ASSERT_TRUE(voxgate::testing::Eventually([&] { return Stored(name).done(); },
                                           absl::Seconds(60)));
  const google::longrunning::Operation done = Stored(name);
  ASSERT_TRUE(done.has_response()) << done.error().message();
  v1::BatchTranscribeResponse response;
  ASSERT_TRUE(done.response().UnpackTo(&response));
  ASSERT_EQ(response.results_size(), 2);
  int succeeded = 0;
  int failed = 0;
  for (const v1::BatchFileResult& result : response.results()) {
    if (result.has_result()) {
      ++succeeded;
      EXPECT_EQ(result.result().text(), "hello there");
    } else {
      ++failed;
      EXPECT_EQ(result.error().code(),
                static_cast<int>(absl::StatusCode::kUnavailable));
      EXPECT_THAT(result.error().message(), HasSubstr("503"));
    }
  }
  EXPECT_EQ(succeeded, 1);
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(response.results(0).id(), "first");  // in request order
  EXPECT_EQ(response.results(1).id(), "second");
}

TEST_F(BatchRunnerTest, CancelStopsTheFilesRunningAndEndsCancelled) {
  const std::string name = Submit();
  ASSERT_TRUE(transcription().requests.WaitFor(2));
  ASSERT_TRUE(runner_->Cancel(name));
  ASSERT_TRUE(voxgate::testing::Eventually([&] { return Stored(name).done(); },
                                           absl::Seconds(60)));
  const google::longrunning::Operation done = Stored(name);
  EXPECT_EQ(done.error().code(),
            static_cast<int>(absl::StatusCode::kCancelled));
  // The final record may be written while the files' cancels are on their
  // way: each is cancelled, none is answered.
  EXPECT_TRUE(voxgate::testing::Eventually(
      [&] { return transcription().requests.open() == 0; }));
  EXPECT_EQ(transcription().requests.cancelled(), 2);
}

}  // namespace
}  // namespace voxgate::operations
