// The gateway's gRPC server in process on a loopback port: health, reflection,
// ListModels and graceful drain, through real clients.

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "common/logging.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "config/config.h"
#include "gateway/gateway_server.h"
#include "tests/audio_fixtures.h"
#include "tests/grpc_probes.h"
#include "tests/http_get.h"
#include "google/longrunning/operations.grpc.pb.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::server {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using ::voxgate::testing::CheckHealth;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::ListServicesByReflection;
using ::voxgate::testing::ReflectedService;

constexpr char kSlowMethod[] = "/voxgate.test.Slow/Wait";

// A method that finishes only when the test releases it, so a call can be held
// in flight across a drain.
class SlowService final : public grpc::CallbackGenericService {
 public:
  absl::Notification started;
  absl::Notification release;

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    if (context->method() != kSlowMethod) {
      return CallbackGenericService::CreateReactor(context);
    }
    class Reactor final : public grpc::ServerGenericBidiReactor {
     public:
      explicit Reactor(SlowService* service) : service_(service) {
        grpc::Slice done("done");
        response_ = grpc::ByteBuffer(&done, 1);
        StartRead(&request_);
      }
      void OnReadDone(bool) override {
        service_->started.Notify();
        // Waits on a thread of its own: reactions must not block.
        waiter_ = std::thread([this] {
          service_->release.WaitForNotification();
          StartWriteAndFinish(&response_, grpc::WriteOptions(),
                              grpc::Status::OK);
        });
      }
      void OnDone() override {
        waiter_.join();
        delete this;
      }

     private:
      SlowService* service_;
      grpc::ByteBuffer request_;
      grpc::ByteBuffer response_;
      std::thread waiter_;
    };
    return new Reactor(this);
  }
};

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(absl::string_view yaml = "") {
    auto config = LoadConfigFromYaml(yaml, {{"listen", "127.0.0.1:0"},
                                            {"admin_listen", "127.0.0.1:0"},
                                            {"http_listen", "127.0.0.1:0"}});
    ASSERT_THAT(config, IsOk());
    auto server = gateway::GatewayServer::Start(
        *config, logger_, {[this](grpc::ServerBuilder& builder) {
          builder.RegisterCallbackGenericService(&slow_);
        }});
    ASSERT_THAT(server, IsOk());
    server_ = std::move(*server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
  }

  // Starts the slow call; returns once the server handles it.
  void StartSlowCall(grpc::Status& status, absl::Notification& done) {
    stub_ = std::make_unique<grpc::GenericStub>(channel_);
    grpc::Slice payload("hold");
    slow_request_ = grpc::ByteBuffer(&payload, 1);
    slow_context_.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(30));
    stub_->UnaryCall(&slow_context_, kSlowMethod, grpc::StubOptions(),
                     &slow_request_, &slow_response_, [&](grpc::Status s) {
                       status = s;
                       done.Notify();
                     });
    ASSERT_TRUE(
        slow_.started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  }

  Logger logger_{LogLevel::kWarning};
  SlowService slow_;
  std::unique_ptr<gateway::GatewayServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
  grpc::ClientContext slow_context_;
  grpc::ByteBuffer slow_request_, slow_response_;
};

TEST_F(ServerTest, HealthIsServingOverallAndForTheService) {
  StartServer();
  EXPECT_EQ(*CheckHealth(*channel_, ""), "SERVING");
  EXPECT_EQ(*CheckHealth(*channel_, "voxgate.v1.VoxgateService"), "SERVING");
  EXPECT_THAT(
      CheckHealth(*channel_, "no.such.Service"),
      voxgate::testing::StatusIs(absl::StatusCode::kNotFound, ::testing::_));
}

TEST_F(ServerTest, ReflectionListsTheServicesWithTheirMethods) {
  StartServer();
  auto services = ListServicesByReflection(*channel_);
  ASSERT_THAT(services, IsOk());
  std::vector<std::string> names;
  for (const ReflectedService& service : *services)
    names.push_back(service.name);
  EXPECT_THAT(names, Contains("grpc.health.v1.Health"));
  EXPECT_THAT(names, Contains("grpc.reflection.v1alpha.ServerReflection"));
  EXPECT_THAT(*services,
              Contains(AllOf(
                  Field(&ReflectedService::name, "voxgate.v1.VoxgateService"),
                  Field(&ReflectedService::methods,
                        UnorderedElementsAre(
                            "Transcribe", "Analyze", "Chat", "ChatStream",
                            "StreamTranscribe", "TranscribeUpload",
                            "BatchTranscribe", "ListModels")))));
  EXPECT_THAT(
      *services,
      Contains(
          AllOf(Field(&ReflectedService::name, "google.longrunning.Operations"),
                Field(&ReflectedService::methods,
                      UnorderedElementsAre("ListOperations", "GetOperation",
                                           "DeleteOperation", "CancelOperation",
                                           "WaitOperation")))));
}

TEST_F(ServerTest, APageTokenNearIntMaxIsRefusedInsteadOfOverflowing) {
  StartServer();
  auto stub = google::longrunning::Operations::NewStub(channel_);
  google::longrunning::ListOperationsRequest request;
  google::longrunning::ListOperationsResponse response;
  request.set_page_token("2147483647");
  grpc::ClientContext refused;
  const grpc::Status status =
      stub->ListOperations(&refused, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("page_token"));
  request.set_page_token("0");
  grpc::ClientContext served;
  EXPECT_TRUE(stub->ListOperations(&served, request, &response).ok());
}

TEST_F(ServerTest, ListModelsDescribesTheEmbeddedEngineByDefault) {
  StartServer();
  auto stub = v1::VoxgateService::NewStub(channel_);
  grpc::ClientContext context;
  v1::ListModelsResponse response;
  ASSERT_TRUE(stub->ListModels(&context, {}, &response).ok());
  ASSERT_EQ(response.models_size(), 1);
  const v1::ModelInfo& model = response.models(0);
  EXPECT_EQ(model.id(), "pocketsphinx-en-us");
  EXPECT_EQ(model.protocol(), "embedded");
  EXPECT_THAT(model.languages(), ElementsAre("en-US"));
  EXPECT_THAT(model.capabilities(), Contains(v1::CAPABILITY_TRANSCRIBE));
  EXPECT_THAT(model.capabilities(),
              ::testing::Not(Contains(v1::CAPABILITY_TEXT_CHAT)));
  EXPECT_EQ(model.max_audio_bytes(), 32 * 1024 * 1024);
}

TEST_F(ServerTest, ListModelsShowsConfiguredPoolsAndCapabilities) {
  StartServer(R"(
pools:
  - name: vllm
    protocol: openai_transcriptions
    endpoints: [{url: "http://vllm:8000/v1"}]
    models: [whisper-large-v3]
  - name: ollama
    protocol: openai_chat
    endpoints: [{url: "http://ollama:11434/v1"}]
    models: [llama3, qwen3]
)");
  auto stub = v1::VoxgateService::NewStub(channel_);
  grpc::ClientContext context;
  v1::ListModelsResponse response;
  ASSERT_TRUE(stub->ListModels(&context, {}, &response).ok());
  ASSERT_EQ(response.models_size(), 3);
  EXPECT_EQ(response.models(0).id(), "whisper-large-v3");
  EXPECT_EQ(response.models(0).pool(), "vllm");
  EXPECT_THAT(response.models(0).capabilities(),
              Contains(v1::CAPABILITY_TRANSLATE));
  EXPECT_EQ(response.models(2).id(), "qwen3");
  EXPECT_THAT(response.models(2).capabilities(),
              ElementsAre(v1::CAPABILITY_TEXT_CHAT));
  EXPECT_EQ(response.models(2).max_audio_bytes(), 0);
}

TEST_F(ServerTest, TranslationOnTheEmbeddedEngineWarnsItTranscribes) {
  StartServer();
  auto stub = v1::VoxgateService::NewStub(channel_);
  grpc::ClientContext context;
  v1::TranscribeRequest request;
  request.mutable_audio()->set_content(testing::ToneWav(440, 1.0, 16000, 1));
  request.mutable_config()->set_task(v1::TASK_TRANSLATE);
  v1::TranscribeResponse response;
  grpc::Status status = stub->Transcribe(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(
      response.warnings(),
      Contains(HasSubstr("config.task: pool embedded cannot translate")));
}

TEST_F(ServerTest, ChatWithoutATextPoolSaysHowToConfigureOne) {
  StartServer();
  auto stub = v1::VoxgateService::NewStub(channel_);
  grpc::ClientContext context;
  v1::ChatRequest request;
  v1::ChatMessage* message = request.add_messages();
  message->set_role(v1::ROLE_USER);
  message->add_content()->set_text("hello");
  v1::ChatResponse response;
  grpc::Status status = stub->Chat(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("--text_base_url"));
}

TEST_F(ServerTest, DrainServesThroughTheDelayThenRefusesNewCalls) {
  // A delay far longer than the test: the test ends it (SkipDrainDelay, the
  // second SIGTERM) once it has seen a call served within it, so nothing here
  // races a clock.
  StartServer("server:\n  drain_delay: 600s\n  drain_timeout: 20s\n");
  grpc::Status slow_status(grpc::StatusCode::UNKNOWN, "not finished");
  absl::Notification slow_done;
  StartSlowCall(slow_status, slow_done);

  std::thread drainer([this] { server_->Drain(); });
  auto stub = v1::VoxgateService::NewStub(channel_);
  auto list_models = [&stub] {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    v1::ListModelsResponse response;
    return stub->ListModels(&context, {}, &response);
  };

  // The delay: health says NOT_SERVING, so balancers stop sending, yet a
  // call routed here before they noticed is served.
  for (int attempt = 0; attempt < 500; ++attempt) {
    if (*CheckHealth(*channel_, "") == "NOT_SERVING") break;
    absl::SleepFor(absl::Milliseconds(10));  // Drain has not begun yet.
  }
  ASSERT_EQ(*CheckHealth(*channel_, ""), "NOT_SERVING");
  auto http = upstream::HttpClient::Create();
  ASSERT_TRUE(http.ok());
  auto readyz = voxgate::testing::HttpGet(
      **http,
      absl::StrCat("http://127.0.0.1:", server_->admin_port(), "/readyz"));
  ASSERT_TRUE(readyz.ok()) << readyz.status();
  EXPECT_EQ(readyz->status_code, 503);
  const grpc::Status during_delay = list_models();
  EXPECT_TRUE(during_delay.ok()) << during_delay.error_message();

  // After the delay new calls are refused while the old one still runs.
  server_->SkipDrainDelay();
  grpc::Status refused;
  for (int attempt = 0; attempt < 500; ++attempt) {
    refused = list_models();
    if (!refused.ok()) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  // The admission step refuses with UNAVAILABLE ("draining"); a call that
  // reaches gRPC after its Shutdown() began is cancelled by gRPC itself.
  EXPECT_THAT(refused.error_code(),
              ::testing::AnyOf(grpc::StatusCode::UNAVAILABLE,
                               grpc::StatusCode::CANCELLED))
      << refused.error_message();
  EXPECT_FALSE(slow_done.HasBeenNotified());

  slow_.release.Notify();
  ASSERT_TRUE(slow_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(slow_status.ok()) << slow_status.error_message();
  drainer.join();
}

TEST_F(ServerTest, BindFailureNamesTheListenKey) {
  StartServer();
  auto config = LoadConfigFromYaml(
      "", {{"listen", absl::StrCat("127.0.0.1:", server_->port())},
           {"admin_listen", "127.0.0.1:0"},
           {"http_listen", "127.0.0.1:0"}});
  ASSERT_THAT(config, IsOk());
  auto second = gateway::GatewayServer::Start(*config, logger_);
  EXPECT_THAT(second, voxgate::testing::StatusIs(absl::StatusCode::kUnavailable,
                                                 HasSubstr("server.listen")));
}

}  // namespace
}  // namespace voxgate::server
