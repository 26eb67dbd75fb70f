// Routing, protocol backends and model listing through the configured pools,
// against fake upstreams over loopback.

#include "upstream/upstreams.h"

#include "absl/synchronization/notification.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/audio_fixtures.h"
#include "tests/eventually.h"
#include "tests/fake_upstream/fake_upstream.h"

namespace voxgate::upstream {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::voxgate::testing::Eventually;
using ::voxgate::testing::FakeBehavior;
using ::voxgate::testing::FakeRequest;
using ::voxgate::testing::FakeUpstream;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

// A 0.25 s, 16 kHz mono WAV of silence.
std::string QuarterSecondWav() { return testing::SilenceWav(0.25, 16000); }

// A pool stanza with the defaults the config loader would fill in.
std::string PoolText(const std::string& name, const std::string& protocol,
                     const std::string& url, const std::string& extra = "") {
  return absl::StrCat("pools { name: '", name, "' protocol: ", protocol,
                      " endpoints { url: '", url,
                      "' weight: 1 max_concurrency: 8 } max_queue: 16 "
                      "queue_timeout { seconds: 5 } max_attempts: 2 ",
                      extra, " }\n");
}

class UpstreamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto audio = FakeUpstream::Start();
    auto text = FakeUpstream::Start();
    ASSERT_THAT(audio, IsOk());
    ASSERT_THAT(text, IsOk());
    audio_ = std::move(*audio);
    text_ = std::move(*text);
  }

  absl::Status Build(const std::string& text_proto) {
    config::v1::Config config;
    if (!google::protobuf::TextFormat::ParseFromString(text_proto, &config)) {
      return absl::InvalidArgumentError("bad test config");
    }
    Upstreams::Options options;
    options.registry = &registry_;  // per-pool metrics, as deployed
    options.env = [](const std::string& name) -> std::optional<std::string> {
      if (name == "FAKE_KEY") return "sk-test-123";
      return std::nullopt;
    };
    auto upstreams = Upstreams::Create(config, options);
    if (!upstreams.ok()) return upstreams.status();
    upstreams_ = std::move(*upstreams);
    return absl::OkStatus();
  }

  prometheus::Registry registry_;

  absl::Status BuildAudioText(
      const std::string& audio_protocol = "PROTOCOL_OPENAI_CHAT_AUDIO") {
    return Build(
        PoolText("audio", audio_protocol, audio_->base_url(),
                 "models: 'voxtral' api_key_env: 'FAKE_KEY'") +
        PoolText("text", "PROTOCOL_OPENAI_CHAT", text_->base_url(),
                 "models: 'llama3' models: 'qwen3' headers { key: 'X-Tenant' "
                 "value: 'blue' }") +
        "routing { audio_pool: 'audio' text_pool: 'text' }");
  }

  absl::StatusOr<Transcription> Transcribe(TranscriptionRequest request,
                                           const std::string& model = "") {
    auto backend = upstreams_->ForTranscription(model);
    if (!backend.ok()) return backend.status();
    absl::StatusOr<Transcription> result = absl::UnknownError("no answer");
    absl::Notification done;
    CallOptions options;
    options.deadline = absl::Now() + absl::Seconds(10);
    options.request_id = "rid-7";
    (*backend)->Transcribe(std::move(request), options,
                           [&](absl::StatusOr<Transcription> transcription) {
                             result = std::move(transcription);
                             done.Notify();
                           });
    done.WaitForNotification();
    return result;
  }

  absl::StatusOr<ChatCompletion> Chat(const std::string& text,
                                      const std::string& model = "") {
    auto backend = upstreams_->ForChat(model);
    if (!backend.ok()) return backend.status();
    ChatRequest request;
    request.model = upstreams_->UpstreamModelName(model);
    request.messages.push_back(ChatMessage::Of("user", {ChatPart::Text(text)}));
    absl::StatusOr<ChatCompletion> result = absl::UnknownError("no answer");
    absl::Notification done;
    (*backend)->Complete(request, {absl::Now() + absl::Seconds(10), "rid-8"},
                         [&](absl::StatusOr<ChatCompletion> completion) {
                           result = std::move(completion);
                           done.Notify();
                         });
    done.WaitForNotification();
    return result;
  }

  std::unique_ptr<FakeUpstream> audio_;
  std::unique_ptr<FakeUpstream> text_;
  std::unique_ptr<Upstreams> upstreams_;
};

TEST_F(UpstreamsTest, ChatAudioPoolTranscribesWithKeyAndRequestId) {
  ASSERT_THAT(BuildAudioText(), IsOk());
  TranscriptionRequest request;
  request.audio = QuarterSecondWav();
  auto transcription = Transcribe(request);
  ASSERT_THAT(transcription, IsOk());
  EXPECT_EQ(transcription->text,
            "audio 4000 frames at 16000 Hz 1 ch crc 4a4be864");
  const FakeRequest recorded = audio_->Requests().at(0);
  EXPECT_EQ(recorded.wire.path, "/v1/chat/completions");
  EXPECT_EQ(recorded.json["model"], "voxtral");
  EXPECT_EQ(recorded.wire.Header("authorization"), "Bearer sk-test-123");
  EXPECT_EQ(recorded.wire.Header("x-request-id"), "rid-7");
  EXPECT_EQ(recorded.json["messages"][0]["content"],
            "You are a helpful assistant that transcribes audio.");
}

TEST_F(UpstreamsTest, TranscriptionsPoolReturnsSegments) {
  ASSERT_THAT(BuildAudioText("PROTOCOL_OPENAI_TRANSCRIPTIONS"), IsOk());
  TranscriptionRequest request;
  request.audio = QuarterSecondWav();
  request.want_segments = true;
  auto transcription = Transcribe(request, "voxtral");
  ASSERT_THAT(transcription, IsOk());
  ASSERT_EQ(transcription->segments.size(), 1u);
  EXPECT_DOUBLE_EQ(transcription->segments[0].end_seconds, 0.25);
  EXPECT_EQ(audio_->Requests().at(0).FormValue("model"), "voxtral");
}

TEST_F(UpstreamsTest, ChatGoesToTheTextPoolWithItsHeaders) {
  ASSERT_THAT(BuildAudioText(), IsOk());
  auto completion = Chat("hi there");
  ASSERT_THAT(completion, IsOk());
  EXPECT_EQ(completion->content, "echo: hi there");
  EXPECT_EQ(completion->model, "llama3");
  const FakeRequest recorded = text_->Requests().at(0);
  EXPECT_EQ(recorded.wire.Header("x-tenant"), "blue");
  EXPECT_EQ(recorded.wire.Header("authorization"), "");
  EXPECT_TRUE(audio_->Requests().empty());
}

TEST_F(UpstreamsTest, ModelNamesRouteAndUnknownOnesAreNotFound) {
  ASSERT_THAT(BuildAudioText(), IsOk());
  auto completion = Chat("hi", "qwen3");
  ASSERT_THAT(completion, IsOk());
  EXPECT_EQ(text_->Requests().at(0).json["model"], "qwen3");
  // A pool name routes too, with the pool's default model.
  ASSERT_THAT(Chat("hi", "text"), IsOk());
  EXPECT_EQ(text_->Requests().at(1).json["model"], "llama3");
  EXPECT_THAT(Chat("hi", "gpt-5"), StatusIs(absl::StatusCode::kNotFound,
                                            HasSubstr("model \"gpt-5\"")));
  EXPECT_THAT(upstreams_->ForAudioChat(""), IsOk());
}

TEST_F(UpstreamsTest, WithoutATextPoolChatSaysHowToConfigureOne) {
  ASSERT_THAT(Build(PoolText("audio", "PROTOCOL_OPENAI_TRANSCRIPTIONS",
                             audio_->base_url()) +
                    "routing { audio_pool: 'audio' }"),
              IsOk());
  EXPECT_THAT(upstreams_->ForChat(""),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("--text_base_url")));
  EXPECT_THAT(upstreams_->ForAudioChat(""),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("input_audio")));
}

TEST_F(UpstreamsTest, MissingApiKeyFailsNamingTheKey) {
  EXPECT_THAT(
      Build(PoolText("audio", "PROTOCOL_OPENAI_CHAT", audio_->base_url(),
                     "api_key_env: 'NOT_SET_ANYWHERE'")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("pools[0].api_key_env: environment variable "
                         "NOT_SET_ANYWHERE is not set")));
}

TEST_F(UpstreamsTest, AnUnavailablePoolFallsBack) {
  ASSERT_THAT(
      Build(PoolText("remote", "PROTOCOL_OPENAI_TRANSCRIPTIONS",
                     "http://127.0.0.1:1/v1", "fallback_pool: 'backup'") +
            PoolText("backup", "PROTOCOL_OPENAI_TRANSCRIPTIONS",
                     audio_->base_url()) +
            "routing { audio_pool: 'remote' }"),
      IsOk());
  TranscriptionRequest request;
  request.audio = QuarterSecondWav();
  // Each request the dead pool fails (after its retries) goes to the fallback
  // at once, until the endpoint is ejected (5 consecutive failures)...
  int answered = 0;
  for (int i = 0; i < 5 && upstreams_->PoolAvailability().at("remote"); ++i) {
    EXPECT_THAT(Transcribe(request), IsOk());
    ++answered;
  }
  EXPECT_GE(answered, 1);
  EXPECT_FALSE(upstreams_->PoolAvailability().at("remote"));
  // ...and then routing sends requests straight there.
  ASSERT_THAT(Transcribe(request), IsOk());
  EXPECT_EQ(audio_->Requests().size(), static_cast<std::size_t>(answered + 1));
}

TEST_F(UpstreamsTest, ModelsTheServersReportAreKnownAndRoutable) {
  audio_->SetModels({"voxtral", "whisper"});
  text_->SetModels({"llama3", "SmolLM2-135M-Instruct.Q4_1.gguf"});
  ASSERT_THAT(BuildAudioText(), IsOk());
  absl::Notification refreshed;
  upstreams_->RefreshModels([&] { refreshed.Notify(); });
  refreshed.WaitForNotification();
  const auto reported = upstreams_->ReportedModels();
  EXPECT_THAT(reported.at("audio"), ElementsAre("voxtral", "whisper"));
  EXPECT_THAT(reported.at("text"),
              ElementsAre("llama3", "SmolLM2-135M-Instruct.Q4_1.gguf"));
  // A reported id routes to its pool and is sent upstream as it is.
  auto chat = upstreams_->ForChat("SmolLM2-135M-Instruct.Q4_1.gguf");
  ASSERT_THAT(chat, IsOk());
  EXPECT_EQ(upstreams_->PoolNameFor(**chat), "text");
  EXPECT_EQ(upstreams_->UpstreamModelName("SmolLM2-135M-Instruct.Q4_1.gguf"),
            "SmolLM2-135M-Instruct.Q4_1.gguf");
  EXPECT_THAT(
      upstreams_->ForChat("never-reported"),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("never-reported")));
}

// Collects a streamed reply; can cancel after the first delta.
class CollectingStream final : public ChatStreamObserver {
 public:
  bool OnDelta(const ChatDelta& delta) override {
    absl::MutexLock lock(&mu_);
    text += delta.content;
    if (!delta.finish_reason.empty()) finish_reason = delta.finish_reason;
    if (delta.usage) usage = delta.usage;
    if (!first.HasBeenNotified()) first.Notify();
    return true;
  }
  void OnDone(absl::Status status) override {
    result = status;
    done.Notify();
  }
  absl::Mutex mu_;
  std::string text;
  std::string finish_reason;
  std::optional<Usage> usage;
  absl::Status result;
  absl::Notification first, done;
};

TEST_F(UpstreamsTest, ChatStreamDeliversDeltasThenFinishReasonAndUsage) {
  FakeBehavior reply;
  reply.text = "streams are nice";
  text_->SetDefault(reply);
  ASSERT_THAT(BuildAudioText(), IsOk());
  auto backend = upstreams_->ForChat("");
  ASSERT_THAT(backend, IsOk());
  auto stream = std::make_shared<CollectingStream>();
  ChatRequest request;
  request.messages.push_back(ChatMessage::Of("user", {ChatPart::Text("go")}));
  (*backend)->Stream(request, {absl::Now() + absl::Seconds(10), ""}, stream);
  stream->done.WaitForNotification();
  EXPECT_THAT(stream->result, IsOk());
  EXPECT_EQ(stream->text, "streams are nice");
  EXPECT_EQ(stream->finish_reason, "stop");
  ASSERT_TRUE(stream->usage.has_value());
  EXPECT_EQ(stream->usage->output_tokens, 3);
}

TEST_F(UpstreamsTest, CancellingAStreamClosesTheUpstreamConnection) {
  FakeBehavior slow;
  slow.text = "one two three four five six seven eight";
  slow.chunk_interval = absl::Milliseconds(200);
  text_->SetDefault(slow);
  ASSERT_THAT(BuildAudioText(), IsOk());
  auto stream = std::make_shared<CollectingStream>();
  ChatRequest request;
  request.messages.push_back(ChatMessage::Of("user", {ChatPart::Text("go")}));
  auto call =
      (*upstreams_->ForChat(""))
          ->Stream(request, {absl::Now() + absl::Seconds(10), ""}, stream);
  ASSERT_TRUE(stream->first.WaitForNotificationWithTimeout(absl::Seconds(5)));
  call->Cancel();
  ASSERT_TRUE(stream->done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(stream->result.code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(text_->WaitUntil(
      [](const std::vector<FakeRequest>& requests) {
        return requests.size() == 1 && requests[0].client_closed_early;
      },
      absl::Seconds(5)));
}

TEST_F(UpstreamsTest, UpstreamErrorsBecomeStatusesNamingThePool) {
  FakeBehavior bad_request;
  bad_request.status = 400;
  text_->SetDefault(bad_request);
  ASSERT_THAT(BuildAudioText(), IsOk());
  EXPECT_THAT(Chat("hi"), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("pool text answered HTTP 400")));
  FakeBehavior broken;
  broken.malformed_json = true;
  text_->SetDefault(broken);
  EXPECT_THAT(Chat("hi"), StatusIs(absl::StatusCode::kInternal,
                                   HasSubstr("not an OpenAI")));
}

TEST_F(UpstreamsTest, DestroyedWithRequestsInFlightEndsThemFirst) {
  // The requests' ends still use their pools (names, budgets, metrics): the
  // pools must outlive the transfers (ASan saw the opposite order).
  FakeBehavior hang;
  hang.hang = true;
  text_->SetDefault(hang);
  ASSERT_THAT(BuildAudioText(), IsOk());
  ChatBackend* chat = *upstreams_->ForChat("llama3");
  constexpr int kRequests = 4;
  absl::Mutex mu;
  std::vector<absl::Status> ends;
  for (int i = 0; i < kRequests; ++i) {
    ChatRequest request;
    request.messages.push_back(
        ChatMessage::Of("user", {ChatPart::Text("hello")}));
    CallOptions options;
    options.deadline = absl::Now() + absl::Seconds(60);
    chat->Complete(std::move(request), options,
                   [&](absl::StatusOr<ChatCompletion> completion) {
                     absl::MutexLock lock(&mu);
                     ends.push_back(completion.status());
                   });
  }
  ASSERT_TRUE(Eventually([&] { return text_->in_flight() == kRequests; }));
  upstreams_.reset();
  absl::MutexLock lock(&mu);
  ASSERT_EQ(ends.size(), static_cast<std::size_t>(kRequests));
  for (const absl::Status& end : ends) {
    EXPECT_THAT(end, StatusIs(absl::StatusCode::kCancelled,
                              HasSubstr("shutting down")));
  }
}

}  // namespace
}  // namespace voxgate::upstream
