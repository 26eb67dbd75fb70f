// grpc_floor_bench: the latency of a bare gRPC 1.51 unary call on this
// machine, with no gateway code, measured the way chat_overhead_bench measures
// the gateway: the floor under the gateway's figures.
//
// Four servers, each a child process of this binary answering a two-byte
// message at once: the callback API (as voxgate serves) and the completion
// queue API on one thread, each answering either on gRPC's own thread or
// after a hand-off to a second thread woken through an eventfd (as a Chat call
// hands its request to the curl loop and answers from there). The client is
// one thread sending at a fixed rate and reaping on a completion queue (no
// coordinated omission), latency from each actual send: chat_overhead_bench's
// QueueLoad.
//
// Usage: bazel run -c opt //bench:grpc_floor_bench -- [--rate=2000]
//        [--seconds=10] [--repeat=2] [--server_cpu=1]

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "bench/queue_load.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "tests/free_port.h"
#include "tests/subprocess.h"

namespace voxgate::bench {
namespace {

constexpr char kMethod[] = "/floor.Echo/Call";

grpc::ByteBuffer SmallMessage() {
  grpc::Slice slice("ok", 2);
  return grpc::ByteBuffer(&slice, 1);
}

// A thread that runs posted work, woken by an eventfd it polls: the shape of
// voxgate's curl loop.
class HandOffThread {
 public:
  HandOffThread()
      : wake_fd_(eventfd(0, EFD_NONBLOCK)), thread_([this] { Run(); }) {}

  void Post(std::function<void()> work) {
    {
      absl::MutexLock lock(&mu_);
      queue_.push_back(std::move(work));
    }
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }

 private:
  void Run() {
    while (true) {
      pollfd fd{wake_fd_, POLLIN, 0};
      poll(&fd, 1, 1000);
      uint64_t count;
      (void)!read(wake_fd_, &count, sizeof(count));
      std::deque<std::function<void()>> work;
      {
        absl::MutexLock lock(&mu_);
        work.swap(queue_);
      }
      for (auto& item : work) item();
    }
  }

  const int wake_fd_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // runs until the process is killed
};

class CallbackEcho : public grpc::ServerGenericBidiReactor {
 public:
  explicit CallbackEcho(HandOffThread* hand_off) : hand_off_(hand_off) {
    StartRead(&request_);
  }
  void OnReadDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::OK);
    response_ = SmallMessage();
    if (hand_off_ == nullptr) return Answer();
    hand_off_->Post([this] { Answer(); });
  }
  void OnDone() override { delete this; }
  bool InternalInlineable() override { return true; }  // as voxgate's calls

 private:
  void Answer() { StartWriteAndFinish(&response_, {}, grpc::Status::OK); }

  HandOffThread* const hand_off_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
};

class CallbackService : public grpc::CallbackGenericService {
 public:
  explicit CallbackService(HandOffThread* hand_off) : hand_off_(hand_off) {}
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext*) override {
    return new CallbackEcho(hand_off_);
  }

 private:
  HandOffThread* const hand_off_;
};

// One call on the completion-queue server; the tag of its operations.
struct QueueCall {
  enum class Stage { kAccepted, kRead, kAnswered } stage = Stage::kAccepted;
  grpc::GenericServerContext context;
  grpc::GenericServerAsyncReaderWriter stream{&context};
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
};

int Serve(const std::string& api, bool hand_off, int port) {
  std::unique_ptr<HandOffThread> hand_off_thread;
  if (hand_off) hand_off_thread = std::make_unique<HandOffThread>();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", port),
                           grpc::InsecureServerCredentials());
  CallbackService callback_service(hand_off_thread.get());
  grpc::AsyncGenericService queue_service;
  std::unique_ptr<grpc::ServerCompletionQueue> queue;
  if (api == "callback") {
    builder.RegisterCallbackGenericService(&callback_service);
  } else {
    builder.RegisterAsyncGenericService(&queue_service);
    queue = builder.AddCompletionQueue();
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) return 1;
  std::fprintf(stderr, "serving\n");
  if (api == "callback") {
    server->Wait();
    return 0;
  }
  auto accept = [&] {
    auto* call = new QueueCall();
    queue_service.RequestCall(&call->context, &call->stream, queue.get(),
                              queue.get(), call);
  };
  accept();
  void* tag;
  bool ok;
  while (queue->Next(&tag, &ok)) {
    auto* call = static_cast<QueueCall*>(tag);
    switch (call->stage) {
      case QueueCall::Stage::kAccepted:
        accept();
        call->stage = QueueCall::Stage::kRead;
        call->stream.Read(&call->request, call);
        break;
      case QueueCall::Stage::kRead: {
        call->stage = QueueCall::Stage::kAnswered;
        call->response = SmallMessage();
        auto answer = [call] {
          call->stream.WriteAndFinish(call->response, {}, grpc::Status::OK,
                                      call);
        };
        if (hand_off_thread == nullptr) {
          answer();
        } else {
          hand_off_thread->Post(answer);
        }
        break;
      }
      case QueueCall::Stage::kAnswered:
        delete call;
        break;
    }
  }
  return 0;
}

void PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof(set), &set);
}

int Main(int argc, char** argv) {
  double rate = 2000;
  int seconds = 10;
  int repeat = 2;
  int server_cpu = 1;
  std::string serve;  // set in the child: the API it serves
  bool hand_off = false;
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--rate=")) {
      (void)absl::SimpleAtod(arg, &rate);
    } else if (absl::ConsumePrefix(&arg, "--seconds=")) {
      (void)absl::SimpleAtoi(arg, &seconds);
    } else if (absl::ConsumePrefix(&arg, "--repeat=")) {
      (void)absl::SimpleAtoi(arg, &repeat);
    } else if (absl::ConsumePrefix(&arg, "--server_cpu=")) {
      (void)absl::SimpleAtoi(arg, &server_cpu);
    } else if (absl::ConsumePrefix(&arg, "--serve=")) {
      serve = std::string(arg);
    } else if (arg == "--hand_off") {
      hand_off = true;
    } else if (absl::ConsumePrefix(&arg, "--port=")) {
      (void)absl::SimpleAtoi(arg, &port);
    }
  }
  if (!serve.empty()) return Serve(serve, hand_off, port);

  // The servers are this binary again, pinned by taskset (which would read
  // its own /proc/self/exe).
  char self_path[4096];
  const ssize_t length =
      readlink("/proc/self/exe", self_path, sizeof(self_path));
  if (length <= 0) return 1;
  const std::string self(self_path, static_cast<std::size_t>(length));
  PinTo(server_cpu == 0 ? 1 : 0);
  std::printf(
      "| server | answers from | p50 µs | p99 µs | p99.9 µs | errors |\n"
      "|---|---|---|---|---|---|\n");
  for (int run = 0; run < repeat; ++run) {
    for (const std::string api : {"callback", "queue"}) {
      for (const bool with_hand_off : {false, true}) {
        const int server_port = testing::FreePort();
        std::vector<std::string> command = {
            "/usr/bin/taskset",       "-c",
            absl::StrCat(server_cpu), self,
            "--serve=" + api,         absl::StrCat("--port=", server_port)};
        if (with_hand_off) command.push_back("--hand_off");
        auto server = testing::Subprocess::Start(command);
        if (!server.ok() ||
            !server->WaitForLine("serving", absl::Seconds(10)).ok()) {
          std::fprintf(stderr, "the %s server did not start\n", api.c_str());
          return 1;
        }
        auto channel =
            grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_port),
                                grpc::InsecureChannelCredentials());
        grpc::GenericStub stub(channel);
        const grpc::ByteBuffer request = SmallMessage();
        const QueueLoad::Start call = QueueLoad::Unary<grpc::ByteBuffer>(
            [&](grpc::ClientContext* context, grpc::CompletionQueue* queue) {
              return stub.PrepareUnaryCall(context, kMethod, request, queue);
            });
        QueueLoad load;
        load.OpenLoop(rate, absl::Seconds(1), call);  // warm-up
        const LatencyStats result =
            load.OpenLoop(rate, absl::Seconds(seconds), call);
        std::printf(
            "| %s | %s | %.0f | %.0f | %.0f | %lld |\n",
            api == "callback" ? "callback API" : "completion queue, one thread",
            with_hand_off ? "a second thread" : "gRPC's thread", result.p50_us,
            result.p99_us, result.p999_us,
            static_cast<long long>(result.errors));
        std::fflush(stdout);
        server->Signal(SIGKILL);
        (void)server->Wait(absl::Seconds(10));
      }
    }
  }
  return 0;
}

}  // namespace
}  // namespace voxgate::bench

int main(int argc, char** argv) { return voxgate::bench::Main(argc, argv); }
