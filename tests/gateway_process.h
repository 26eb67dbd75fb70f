#ifndef VOXGATE_TESTS_GATEWAY_PROCESS_H_
#define VOXGATE_TESTS_GATEWAY_PROCESS_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "tests/subprocess.h"

namespace voxgate::testing {

// The real voxgate binary, started on a free port with a config file, for tests
// that exercise it as a deployment would. Stopped (SIGTERM, then SIGKILL) on
// destruction.
class GatewayProcess {
 public:
  static absl::StatusOr<std::unique_ptr<GatewayProcess>> Start(
      const std::string& yaml, const std::vector<std::string>& flags = {});
  ~GatewayProcess();

  int port() const { return port_; }
  int admin_port() const { return admin_port_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  // SIGTERM, as Kubernetes stops a pod; the exit code once the gateway has
  // drained and exited, DEADLINE_EXCEEDED if it has not within `timeout`.
  absl::StatusOr<int> Terminate(absl::Duration timeout);
  // Everything the gateway has logged so far (its stderr).
  std::string Log();
  // The log once it holds `needle` (the logger writes on a thread of its own,
  // after the call has answered); DEADLINE_EXCEEDED after `timeout`.
  absl::StatusOr<std::string> LogWith(const std::string& needle,
                                      absl::Duration timeout);

 private:
  GatewayProcess() = default;
  std::unique_ptr<Subprocess> process_;
  // Reads the gateway's log as it comes: a full pipe would block its logging.
  std::thread drainer_;
  std::atomic<bool> stop_draining_{false};
  absl::Mutex log_mu_;  // the drainer reads process_'s stderr under it
  int port_ = 0;
  int admin_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace voxgate::testing

#endif  // VOXGATE_TESTS_GATEWAY_PROCESS_H_
