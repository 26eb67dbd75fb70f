#ifndef VOXGATE_TESTS_SUBPROCESS_H_
#define VOXGATE_TESTS_SUBPROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace voxgate::testing {

// A child process with its stderr on a pipe, for tests that run real binaries.
// Killed (SIGKILL) and reaped on destruction if still running.
class Subprocess {
 public:
  // Starts `argv[0]` with the given arguments and extra `env` entries
  // ("NAME=value") on top of this process's environment.
  static absl::StatusOr<Subprocess> Start(
      const std::vector<std::string>& argv,
      const std::vector<std::string>& env = {});

  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&&) = delete;
  ~Subprocess();

  // Reads stderr lines until one contains `needle` and returns it;
  // DEADLINE_EXCEEDED after `timeout`, NOT_FOUND when stderr closes first.
  // Lines read are kept.
  absl::StatusOr<std::string> WaitForLine(const std::string& needle,
                                          absl::Duration timeout);

  // Reads what stderr has within `timeout` and drops it: for a process whose
  // output nobody reads but whose pipe must not fill (a benchmark's gateway,
  // logging a line per call). False once stderr has closed.
  bool DiscardStderr(absl::Duration timeout);

  void Signal(int signal_number);
  pid_t pid() const { return pid_; }

  // Waits for the exit and returns the exit code (128 + n if killed by signal
  // n); DEADLINE_EXCEEDED after `timeout`.
  absl::StatusOr<int> Wait(absl::Duration timeout);

  // All stderr read so far, plus what remains once the process has exited.
  std::string Stderr();

 private:
  Subprocess(pid_t pid, int stderr_fd) : pid_(pid), stderr_fd_(stderr_fd) {}
  // Reads what is available within `timeout`; false on end of file.
  bool ReadSome(absl::Duration timeout);

  pid_t pid_;
  int stderr_fd_;
  std::string buffer_;
  std::size_t scanned_ = 0;
  std::optional<int> exit_code_;
};

}  // namespace voxgate::testing

#endif  // VOXGATE_TESTS_SUBPROCESS_H_
