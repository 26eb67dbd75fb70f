// voxgate: the gateway process. Parses flags, environment and config file,
// serves until SIGTERM or SIGINT, then drains and exits 0. Exits 2 on invalid
// configuration (before listening) and 1 when it cannot serve.

#include <pthread.h>
#include <sys/resource.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/debugging/failure_signal_handler.h"
#include "absl/debugging/symbolize.h"
#include "absl/synchronization/mutex.h"
#include "audio/decoder.h"
#include "common/logging.h"
#include "config/command_line.h"
#include "config/config.h"
#include "gateway/gateway_server.h"
#include "gateway/mint_key.h"
#include "gateway/probe.h"

namespace {

voxgate::LogLevel ToLogLevel(voxgate::config::v1::LogLevel level) {
  switch (level) {
    case voxgate::config::v1::LOG_LEVEL_DEBUG:
      return voxgate::LogLevel::kDebug;
    case voxgate::config::v1::LOG_LEVEL_WARNING:
      return voxgate::LogLevel::kWarning;
    case voxgate::config::v1::LOG_LEVEL_ERROR:
      return voxgate::LogLevel::kError;
    default:
      return voxgate::LogLevel::kInfo;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // A crash prints the signal and a symbolized stack to stderr (the log's
  // stream) before the default action, so a dead pod says where it died.
  absl::InitializeSymbolizer(argv[0]);
  absl::InstallFailureSignalHandler({});
#ifdef NDEBUG
  // Debian builds Abseil with its lock-order (deadlock) detection on: every
  // Mutex acquisition then updates a process-wide graph under a global lock,
  // on every gRPC and upstream thread. Optimised builds turn it off; debug and
  // test builds keep it to catch lock-order bugs.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  // Block the stop signals before any thread starts, so every thread inherits
  // the mask and sigwait() below is the one place they arrive.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  if (argc >= 2 && std::string(argv[1]) == "mint-key") {
    return voxgate::gateway::RunMintKey(
        std::vector<std::string>(argv + 2, argv + argc));
  }
  if (argc >= 2 && std::string(argv[1]) == "probe") {
    return voxgate::gateway::RunProbe(
        argc >= 3 ? argv[2] : voxgate::gateway::kDefaultProbeUrl);
  }
  auto command_line = voxgate::ParseCommandLine(
      std::vector<std::string>(argv + 1, argv + argc), voxgate::ProcessEnv);
  if (!command_line.ok()) {
    std::fprintf(stderr, "voxgate: %s\n",
                 std::string(command_line.status().message()).c_str());
    return 2;
  }
  if (command_line->help) {
    std::fputs(voxgate::Usage().c_str(), stdout);
    return 0;
  }
  auto config = voxgate::LoadConfig(command_line->sources);
  if (!config.ok()) {
    std::fprintf(stderr, "voxgate: invalid configuration: %s\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }

  const voxgate::Logger logger(ToLogLevel(config->logging().level()));
  voxgate::audio::RouteFfmpegLogs(logger);
  // Connections are bounded by http.max_connections, not by a container's
  // default soft limit on descriptors (often 1024): raise it to the hard one.
  if (rlimit files; getrlimit(RLIMIT_NOFILE, &files) == 0 &&
                    files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  auto server = voxgate::gateway::GatewayServer::Start(*config, logger);
  if (!server.ok()) {
    logger.Error("cannot serve",
                 {{"error", std::string(server.status().message())}});
    return 1;
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  logger.Info("stop signal",
              {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  // A second stop signal skips what is left of server.drain_delay. Once the
  // drain is over, main wakes that thread itself and joins it before the
  // server goes away.
  std::atomic<bool> drained{false};
  std::thread impatient([&stop_signals, &server, &drained] {
    int again = 0;
    sigwait(&stop_signals, &again);
    if (!drained.load()) (*server)->SkipDrainDelay();
  });
  (*server)->Drain();
  drained.store(true);
  pthread_kill(impatient.native_handle(), SIGTERM);
  impatient.join();
  return 0;
}
