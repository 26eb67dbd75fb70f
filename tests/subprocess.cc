#include "tests/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace voxgate::testing {

absl::StatusOr<Subprocess> Subprocess::Start(
    const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);

  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** entry = environ; *entry != nullptr; ++entry)
    env_strings.push_back(*entry);
  env_strings.insert(env_strings.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (std::string& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);

  pid_t pid = 0;
  const int error = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr,
                                args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (error != 0) {
    close(pipe_fds[0]);
    return absl::InternalError(
        absl::StrCat("spawn ", argv[0], ": ", std::strerror(error)));
  }
  return Subprocess(pid, pipe_fds[0]);
}

Subprocess::Subprocess(Subprocess&& other) noexcept
    : pid_(other.pid_),
      stderr_fd_(other.stderr_fd_),
      buffer_(std::move(other.buffer_)),
      scanned_(other.scanned_),
      exit_code_(other.exit_code_) {
  other.pid_ = -1;
  other.stderr_fd_ = -1;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !exit_code_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (stderr_fd_ >= 0) close(stderr_fd_);
}

bool Subprocess::ReadSome(absl::Duration timeout) {
  pollfd fd{stderr_fd_, POLLIN, 0};
  const int millis = static_cast<int>(
      std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout)));
  if (poll(&fd, 1, millis) <= 0) {
    return true;
  }
  char chunk[4096];
  const ssize_t n = read(stderr_fd_, chunk, sizeof(chunk));
  if (n <= 0) return false;
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

namespace {

// The end of a process's output for an error message: a message must not copy
// a long-running process's whole log.
std::string Tail(const std::string& output) {
  constexpr std::size_t kMaxTail = 16 << 10;
  if (output.size() <= kMaxTail) return output;
  return absl::StrCat("[...]", output.substr(output.size() - kMaxTail));
}

}  // namespace

bool Subprocess::DiscardStderr(absl::Duration timeout) {
  pollfd fd{stderr_fd_, POLLIN, 0};
  int millis = static_cast<int>(
      std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout)));
  char chunk[64 << 10];
  while (poll(&fd, 1, millis) > 0) {
    if (read(stderr_fd_, chunk, sizeof(chunk)) <= 0) return false;
    millis = 0;  // take what else is there, then return
  }
  return true;
}

absl::StatusOr<std::string> Subprocess::WaitForLine(const std::string& needle,
                                                    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    std::size_t newline;
    while ((newline = buffer_.find('\n', scanned_)) != std::string::npos) {
      std::string line = buffer_.substr(scanned_, newline - scanned_);
      scanned_ = newline + 1;
      if (line.find(needle) != std::string::npos) return line;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no line with \"", needle, "\"; stderr so far:\n", Tail(buffer_)));
    }
    if (!ReadSome(std::min(left, absl::Milliseconds(100)))) {
      return absl::NotFoundError(absl::StrCat("stderr closed before \"", needle,
                                              "\":\n", Tail(buffer_)));
    }
  }
}

void Subprocess::Signal(int signal_number) {
  if (!exit_code_) kill(pid_, signal_number);  // never a reaped (reused) pid
}

absl::StatusOr<int> Subprocess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!exit_code_) {
    int status = 0;
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_code_ =
          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError("process still running");
    }
    ReadSome(absl::Milliseconds(20));  // Keeps the pipe drained while waiting.
  }
  return *exit_code_;
}

std::string Subprocess::Stderr() {
  if (exit_code_) {
    while (ReadSome(absl::ZeroDuration()) && buffer_.size() < (1 << 20)) {
      pollfd fd{stderr_fd_, POLLIN, 0};
      if (poll(&fd, 1, 0) <= 0) break;
    }
  }
  return buffer_;
}

}  // namespace voxgate::testing
