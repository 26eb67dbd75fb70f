#include "tests/gateway_process.h"

#include <signal.h>

#include <atomic>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace voxgate::testing {

absl::StatusOr<std::unique_ptr<GatewayProcess>> GatewayProcess::Start(
    const std::string& yaml, const std::vector<std::string>& flags) {
  static std::atomic<int> counter{0};
  const std::string config =
      absl::StrCat(::testing::TempDir(), "/gateway", counter++, ".yaml");
  std::ofstream(config) << yaml;
  std::vector<std::string> argv = {
      "gateway/voxgate", "--config=" + config, "--listen=127.0.0.1:0",
      "--admin_listen=127.0.0.1:0", "--http_listen=127.0.0.1:0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto process = Subprocess::Start(argv);
  if (!process.ok()) return process.status();
  std::unique_ptr<GatewayProcess> gateway(new GatewayProcess());
  gateway->process_ = std::make_unique<Subprocess>(std::move(*process));
  auto line = gateway->process_->WaitForLine("\"serving\"", absl::Seconds(30));
  if (!line.ok()) return line.status();
  const nlohmann::json serving = nlohmann::json::parse(*line);
  gateway->port_ = serving.at("grpc_port").get<int>();
  gateway->admin_port_ = serving.at("admin_port").get<int>();
  GatewayProcess* raw = gateway.get();
  gateway->drainer_ = std::thread([raw] {
    while (!raw->stop_draining_.load()) {
      absl::StatusOr<std::string> line;
      {
        absl::MutexLock lock(&raw->log_mu_);
        line = raw->process_->WaitForLine("\x01never\x01",
                                          absl::Milliseconds(100));
      }
      if (absl::IsNotFound(line.status())) {
        // Stderr closed while the test still runs: the gateway died. Its last
        // words (a sanitizer report, a fatal log line) explain the failures
        // that follow.
        absl::MutexLock lock(&raw->log_mu_);
        const std::string all = raw->process_->Stderr();
        std::cerr << "voxgate exited unexpectedly; the end of its stderr:\n"
                  << all.substr(all.size() > 20000 ? all.size() - 20000 : 0)
                  << std::endl;
        return;
      }
    }
  });
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(64 << 20);
  gateway->channel_ =
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", gateway->port_),
                                grpc::InsecureChannelCredentials(), arguments);
  return gateway;
}

std::string GatewayProcess::Log() {
  absl::MutexLock lock(&log_mu_);
  return process_->Stderr();
}

absl::StatusOr<std::string> GatewayProcess::LogWith(const std::string& needle,
                                                    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::MutexLock lock(&log_mu_);
    std::string log = process_->Stderr();
    if (log.find(needle) != std::string::npos) return log;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("the gateway logged no \"", needle, "\" within ",
                       absl::FormatDuration(timeout)));
    }
    // Reads (and keeps) the lines that come meanwhile.
    if (process_->WaitForLine(needle, std::min(left, absl::Milliseconds(100)))
            .ok()) {
      return process_->Stderr();
    }
  }
}

absl::StatusOr<int> GatewayProcess::Terminate(absl::Duration timeout) {
  channel_.reset();
  stop_draining_.store(true);
  if (drainer_.joinable()) drainer_.join();
  process_->Signal(SIGTERM);
  return process_->Wait(timeout);  // reads the log meanwhile
}

GatewayProcess::~GatewayProcess() {
  channel_.reset();
  stop_draining_.store(true);
  if (drainer_.joinable()) drainer_.join();
  if (process_ != nullptr) {
    process_->Signal(SIGTERM);
    if (!process_->Wait(absl::Seconds(10)).ok()) process_->Signal(SIGKILL);
  }
}

}  // namespace voxgate::testing
