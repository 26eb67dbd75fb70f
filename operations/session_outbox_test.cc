#include "operations/session_outbox.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate::operations {
namespace {

using ::testing::ElementsAre;

// Records what the outbox hands over.
struct RecordingOutput {
  std::vector<std::string> seen;
  void OnResponse(std::string response) { seen.push_back(response); }
  void OnReadyForInput() { seen.push_back("ready"); }
  void OnEnd(const absl::Status& status) {
    seen.push_back(status.ok() ? "end"
                               : "end: " + std::string(status.message()));
  }
};

TEST(SessionOutboxTest, DeliversInOrderAndNothingAfterTheEnd) {
  SessionOutbox<std::string> outbox;
  RecordingOutput output;
  CancelScope requests;
  outbox.Respond("progress 1");
  outbox.Ready();
  outbox.End(absl::OkStatus());
  // A session thread that comes back after another ended the session: the
  // front door may be gone, so these must never reach it.
  outbox.Respond("progress 2");
  outbox.Ready();
  outbox.End(absl::CancelledError("late"));
  outbox.Deliver(output, requests);
  EXPECT_THAT(output.seen, ElementsAre("progress 1", "ready", "end"));
}

TEST(SessionOutboxTest, DroppingResponsesKeepsTheOtherEvents) {
  SessionOutbox<std::string> outbox;
  RecordingOutput output;
  CancelScope requests;
  outbox.Respond("progress");
  outbox.Ready();
  outbox.DropResponses();
  outbox.End(absl::InvalidArgumentError("bad audio"));
  outbox.Deliver(output, requests);
  EXPECT_THAT(output.seen, ElementsAre("ready", "end: bad audio"));
}

}  // namespace
}  // namespace voxgate::operations
