// Analyze (direct and cascade) and ListModels through the real voxgate
// process.

#include <cmath>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/audio_fixtures.h"
#include "tests/rpc/rpc_test_fixture.h"

namespace voxgate::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::SizeIs;

TEST_F(RpcTest, AnalyzeDirectSendsAudioAndInstructionToTheAudioChatModel) {
  v1::AnalyzeRequest request;
  request.mutable_audio()->set_content(
      Transcode(SpeechWav("meeting at noon"), "-c:a libopus", "ogg"));
  request.set_instruction("Summarise this.");
  request.set_system_prompt("Be brief.");
  request.set_mode(v1::ANALYZE_MODE_DIRECT);
  request.set_model("voxtral");
  grpc::ClientContext context;
  v1::AnalyzeResponse response;
  grpc::Status status = stub_->Analyze(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(response.answer(), HasSubstr("frames at 16000 Hz 1 ch"));
  const FakeRequest upstream = audio_->Requests("/v1/chat/completions").at(0);
  EXPECT_EQ(upstream.json["model"], "voxtral");
  EXPECT_EQ(upstream.json["messages"][0]["content"], "Be brief.");
  EXPECT_EQ(upstream.json["messages"][1]["content"][0]["text"],
            "Summarise this.");
  EXPECT_EQ(upstream.json["messages"][1]["content"][1]["input_audio"]["format"],
            "wav");
  EXPECT_EQ(upstream.audio.at(0).sample_rate, 16000);
}

TEST_F(RpcTest, AnalyzeCascadeTranscribesThenAsksTheTextModel) {
  FakeBehavior transcript;
  transcript.text = "the meeting moved to noon";
  audio_->SetDefault(transcript);
  v1::AnalyzeRequest request;
  request.mutable_audio()->set_content(SpeechWav("the meeting moved to noon"));
  request.set_instruction("When is the meeting?");
  request.set_mode(v1::ANALYZE_MODE_CASCADE);
  grpc::ClientContext context;
  v1::AnalyzeResponse response;
  grpc::Status status = stub_->Analyze(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.transcript(), "the meeting moved to noon");
  EXPECT_EQ(response.mode(), v1::ANALYZE_MODE_CASCADE);
  const FakeRequest asked = text_->Requests().at(0);
  const std::string prompt = asked.json["messages"][0]["content"];
  EXPECT_THAT(prompt, HasSubstr("When is the meeting?"));
  EXPECT_THAT(prompt, HasSubstr("the meeting moved to noon"));
  EXPECT_THAT(response.answer(), HasSubstr("When is the meeting?"));
  EXPECT_GT(response.usage().audio_seconds(), 0);
}

TEST_F(RpcTest, ListModelsShowsEveryPoolWithItsCapabilities) {
  grpc::ClientContext context;
  v1::ListModelsResponse response;
  ASSERT_TRUE(stub_->ListModels(&context, {}, &response).ok());
  // The configured models, in order; besides them, once the background
  // refresh has asked, what the fake reports ("fake-model") in each pool.
  std::vector<v1::ModelInfo> configured;
  for (const v1::ModelInfo& model : response.models()) {
    if (model.configured()) {
      configured.push_back(model);
    } else {
      EXPECT_EQ(model.id(), "fake-model");
      EXPECT_EQ(model.listing(), v1::MODEL_LISTING_REPORTED);
    }
  }
  ASSERT_THAT(configured, SizeIs(3));
  EXPECT_EQ(configured[0].id(), "whisper-1");
  EXPECT_THAT(configured[0].capabilities(),
              Contains(v1::CAPABILITY_TRANSCRIBE));
  EXPECT_EQ(configured[1].protocol(), "openai_chat_audio");
  EXPECT_THAT(configured[1].capabilities(),
              Contains(v1::CAPABILITY_AUDIO_CHAT));
  EXPECT_EQ(configured[2].pool(), "llm");
  EXPECT_TRUE(configured[2].available());
}

// Three sentences with 1.2 s pauses as 16 kHz mono PCM, and where speech is.

}  // namespace
}  // namespace voxgate::testing
