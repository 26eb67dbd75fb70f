// fake_upstream: the fake OpenAI-compatible server as a process, for benchmarks
// and the Python and Go client suites. Prints {"port": N} on stdout once
// listening and serves until SIGTERM or SIGINT. Usage: fake_upstream [--port=N]

#include <csignal>
#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "tests/fake_upstream/fake_upstream.h"

int main(int argc, char** argv) {
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--port=") && absl::SimpleAtoi(arg, &port))
      continue;
    std::fprintf(stderr, "usage: fake_upstream [--port=N]\n");
    return 2;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto fake = voxgate::testing::FakeUpstream::Start(port);
  if (!fake.ok()) {
    std::fprintf(stderr, "fake_upstream: %s\n",
                 std::string(fake.status().message()).c_str());
    return 1;
  }
  std::printf("{\"port\": %d}\n", (*fake)->port());
  std::fflush(stdout);
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  return 0;
}
