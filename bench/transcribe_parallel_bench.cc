// transcribe_parallel_bench: wall time of one Transcribe of a 60-minute
// recording when the gateway sends 8 chunks at a time versus one at a time,
// against the fake upstream answering each chunk after a fixed latency. Two
// voxgate processes, same file, same fake, one run.
//
// Usage: bazel run -c opt //bench:transcribe_parallel_bench -- [--minutes=60]
//        [--chunk_latency_ms=1000]

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "tests/fake_upstream/fake_upstream.h"
#include "tests/subprocess.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::bench {
namespace {

std::string Read(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

// Runs one gateway with `chunks_in_flight` and returns the Transcribe wall
// time.
absl::Duration TimeTranscribe(const std::string& audio,
                              const std::string& fake_url, int chunks_in_flight,
                              int* chunks) {
  const std::string config =
      absl::StrCat("/tmp/voxgate-bench-", chunks_in_flight, ".yaml");
  std::ofstream(config)
      << "pools:\n  - name: whisper\n    protocol: openai_transcriptions\n"
      << "    endpoints: [{url: \"" << fake_url
      << "\", max_concurrency: 16}]\n    health_check: {path: \"\"}\n"
      << "audio:\n  max_audio_bytes: 536870912\n"
      << "limits:\n  max_chunks_in_flight: " << chunks_in_flight << "\n";
  auto gateway = testing::Subprocess::Start(
      {"gateway/voxgate", "--config=" + config, "--listen=127.0.0.1:0",
       "--admin_listen=127.0.0.1:0", "--http_listen=127.0.0.1:0",
       "--max_receive_message_bytes=536870912"});
  auto serving = gateway->WaitForLine("\"serving\"", absl::Seconds(30));
  if (!serving.ok()) std::exit(1);
  const int port = nlohmann::json::parse(*serving).at("grpc_port").get<int>();
  grpc::ChannelArguments arguments;
  arguments.SetMaxSendMessageSize(512 << 20);
  auto stub = v1::VoxgateService::NewStub(
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                grpc::InsecureChannelCredentials(), arguments));
  v1::TranscribeRequest request;
  request.mutable_audio()->set_content(audio);
  request.mutable_config()->add_output_formats(v1::OUTPUT_FORMAT_SEGMENTS);
  grpc::ClientContext context;
  v1::TranscribeResponse response;
  const absl::Time start = absl::Now();
  grpc::Status status = stub->Transcribe(&context, request, &response);
  const absl::Duration took = absl::Now() - start;
  if (!status.ok()) {
    std::fprintf(stderr, "Transcribe failed: %s\n",
                 status.error_message().c_str());
    std::exit(1);
  }
  *chunks = response.segments_size();
  gateway->Signal(SIGTERM);
  (void)gateway->Wait(absl::Seconds(30));
  return took;
}

int Main(int argc, char** argv) {
  int minutes = 60, latency_ms = 1000;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--minutes="))
      (void)absl::SimpleAtoi(arg, &minutes);
    if (absl::ConsumePrefix(&arg, "--chunk_latency_ms="))
      (void)absl::SimpleAtoi(arg, &latency_ms);
  }
  // Speech with pauses, repeated to the length: 16 kHz mono WAV.
  const std::string dir = "/tmp/voxgate-transcribe-bench";
  const std::string make_audio =
      "mkdir -p " + dir +
      " && flite -voice slt -t 'The quick brown fox jumps over the lazy "
      "dog.' -o " +
      dir + "/s.wav && sox " + dir + "/s.wav " + dir +
      "/u.wav pad 0 1.5 && sox " + dir + "/u.wav " + dir + "/long.wav repeat " +
      std::to_string(minutes * 60 / 3) + " trim 0 " +
      std::to_string(minutes * 60);
  if (std::system(make_audio.c_str()) != 0) {
    std::fprintf(stderr, "could not make the recording: %s\n",
                 make_audio.c_str());
    return 1;
  }
  const std::string audio = Read(dir + "/long.wav");

  auto fake = testing::FakeUpstream::Start();
  testing::FakeBehavior slow;
  slow.latency = absl::Milliseconds(latency_ms);
  (*fake)->SetDefault(slow);
  int parallel_chunks = 0, serial_chunks = 0;
  const absl::Duration parallel =
      TimeTranscribe(audio, (*fake)->base_url(), 8, &parallel_chunks);
  const absl::Duration serial =
      TimeTranscribe(audio, (*fake)->base_url(), 1, &serial_chunks);
  std::printf("| chunks in flight | chunks | wall time s |\n|---|---|---|\n");
  std::printf("| 8 | %d | %.1f |\n", parallel_chunks,
              absl::ToDoubleSeconds(parallel));
  std::printf("| 1 | %d | %.1f |\n", serial_chunks,
              absl::ToDoubleSeconds(serial));
  std::printf(
      "\nspeed-up: %.1fx (%d min of audio, %d ms per chunk at the fake)\n",
      absl::ToDoubleSeconds(serial) / absl::ToDoubleSeconds(parallel), minutes,
      latency_ms);
  return 0;
}

}  // namespace
}  // namespace voxgate::bench

int main(int argc, char** argv) { return voxgate::bench::Main(argc, argv); }
