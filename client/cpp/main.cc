// voxgate-cli: the Voxgate API from the command line.

#include <unistd.h>

#include <iostream>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/cpp/batch.h"
#include "client/cpp/channel.h"
#include "client/cpp/cli_args.h"
#include "client/cpp/commands.h"
#include "grpcpp/grpcpp.h"

namespace voxgate::cli {
namespace {

constexpr char kUsage[] =
    R"(Usage: voxgate-cli [--address=HOST:PORT] [--timeout=DURATION] [--json]
                   [--api-key=KEY] [--tls] [--ca-file=PEM] [--cert-file=PEM --key-file=PEM]
                   COMMAND [ARGS]

Commands:
  transcribe FILE      Transcribe an audio file (any format the gateway decodes).
  batch FILE|URL...    Transcribe many files as one long-running operation, with
                       a progress display.
  stream FILE|-        Stream audio at real-time pace; interim results update in
                       place, final results stay one per line.
  chat MESSAGE...      Ask the text model; the answer streams as it is generated.
  analyze FILE "INSTRUCTION"
                       Ask about an audio file (summarise, classify, answer).
  models               List the models, their pools and capabilities.

Global flags:
  --address  The gateway, HOST:PORT. Default $VOXGATE_ADDRESS or localhost:50051.
  --timeout  Deadline of each call, e.g. 30s or 5m. Default 5m; uploads
             (transcribe of big files) default to the gateway's stream
             deadline (60m); batch waits to the end unless it is given.
  --json     Print results as JSON (one document per result) for scripts.
  --api-key  Sent as "authorization: Bearer KEY". Default $VOXGATE_API_KEY.
  --tls      Connect with TLS, trusting the system's roots (implied by the
             file flags below).
  --ca-file  PEM CA that signs the gateway's certificate.
  --cert-file, --key-file
             PEM client certificate and key, for gateways that ask (mTLS).

Exit codes: 0 on success; a gRPC failure exits with its code (3
INVALID_ARGUMENT, 4 DEADLINE_EXCEEDED, 8 RESOURCE_EXHAUSTED, 9
FAILED_PRECONDITION, 14 UNAVAILABLE, ...); 64 usage error; 66 unreadable input.
Run "voxgate-cli COMMAND --help" for a command's flags.
)";

struct Command {
  int (*run)(Session&, const Args&);
  std::set<std::string> flags;
  std::set<std::string> booleans;
  const char* help;
};

const std::map<std::string, Command>& Commands() {
  static const auto* commands = new std::map<std::string, Command>{
      {"transcribe",
       {&Transcribe,
        {"format", "model", "language"},
        {"upload", "progress"},
        R"(Usage: voxgate-cli transcribe FILE [--format=text|srt|vtt|json] [--model=M] [--language=L]
                                [--upload] [--progress]

Transcribes FILE (WAV, MP3, FLAC, Ogg, WebM, M4A, ...). Long files are cut at
silences and their chunks transcribed side by side by the gateway. Files over
16 MiB are streamed in pieces (TranscribeUpload, up to the gateway's
max_audio_bytes) with a progress bar on a terminal: bytes sent, then audio
decoded and transcribed as the gateway answers each chunk.
  --format    text (default), srt or vtt subtitles, or json (the full response).
  --model     A model from "voxgate-cli models"; default the gateway's audio pool.
  --language  BCP-47 language hint, e.g. en or fr-FR.
  --upload    Stream the file in pieces whatever its size.
  --progress  Print upload progress lines on stderr when it is not a terminal.
)"}},
      {"stream",
       {&Stream,
        {"speed", "rate", "model", "language"},
        {"no-interim"},
        R"(Usage: voxgate-cli stream FILE|- [--speed=1] [--rate=16000] [--no-interim] [--model=M] [--language=L]

Streams audio through StreamTranscribe. A FILE is sent as it is (WAV, MP3,
FLAC, Ogg or WebM; the gateway decodes it as it arrives), a WAV file at
real-time pace; "-" reads raw 16-bit mono PCM from stdin as it comes (e.g. from
arecord -f S16_LE -r 16000). Final results print as "[start - end] text".
  --speed       Pace WAV as a factor of real time (2 = twice as fast); 0 = no
                pacing. Other containers go as fast as the stream takes them.
  --rate        Sample rate of raw stdin audio. Default 16000.
  --no-interim  Do not ask for interim results.
)"}},
      {"chat",
       {&Chat,
        {"system", "model", "max-tokens", "temperature"},
        {"no-stream"},
        R"(Usage: voxgate-cli chat MESSAGE... [--system=S] [--model=M] [--max-tokens=N] [--temperature=T] [--no-stream]

Sends MESSAGE (the words joined; "-" reads it from stdin) to the text model and
prints the answer as it streams.
  --system       A system prompt.
  --no-stream    One unary Chat call instead of ChatStream.
)"}},
      {"analyze",
       {&Analyze,
        {"mode", "model", "max-tokens", "temperature"},
        {},
        R"(Usage: voxgate-cli analyze FILE "INSTRUCTION" [--mode=auto|direct|cascade] [--model=M]

Asks INSTRUCTION about FILE.
  --mode  auto (default): the gateway picks, direct when an audio chat model is
          configured; direct: the audio goes to a multimodal model; cascade: it
          is transcribed first and the transcript goes to the text model (the
          transcript is printed on stderr).
)"}},
      {"batch",
       {&Batch,
        {"model", "language", "poll"},
        {"progress"},
        R"(Usage: voxgate-cli batch FILE|URL... [--model=M] [--language=L] [--progress] [--poll=2s]

Transcribes many files as one BatchTranscribe operation (files are sent
inline; https:// URLs are fetched by the gateway), showing on a terminal how
many files are done and how much audio is transcribed. Prints each file's
transcript (or its error) in the order given; --json prints one
BatchFileResult per line. The operation's name is printed on stderr first:
it goes on at the gateway if this command is stopped (cancel it with
grpcurl's google.longrunning.Operations/CancelOperation). Exits 0 when every
file was transcribed, else with the first failed file's gRPC code.
  --progress  Print progress lines on stderr when it is not a terminal.
  --poll      How long each WaitOperation waits. Default 2s.
  --timeout   (global) Stop waiting after this long; default: wait to the end.
)"}},
      {"models", {&Models, {}, {}, R"(Usage: voxgate-cli models

Lists the configured models with their pool, availability and capabilities.
)"}},
  };
  return *commands;
}

int Main(int argc, char** argv) {
  std::vector<std::string> global;
  int i = 1;
  // Global flags come before the command.
  for (; i < argc && std::string(argv[i]).rfind("--", 0) == 0; ++i) {
    global.push_back(argv[i]);
    const std::string arg = argv[i];
    if (arg.find('=') == std::string::npos && arg != "--json" &&
        arg != "--help" && arg != "--tls" && i + 1 < argc) {
      global.push_back(argv[++i]);
    }
  }
  auto globals = ParseArgs(
      global,
      {"address", "timeout", "api-key", "ca-file", "cert-file", "key-file"},
      {"json", "help", "tls"});
  if (!globals.ok()) {
    std::cerr << "usage error: " << globals.status().message() << "\n";
    return kExitUsage;
  }
  if (globals->Has("help") || i >= argc) {
    std::cout << kUsage;
    return globals->Has("help") ? 0 : kExitUsage;
  }
  const std::string name = argv[i++];
  if (name == "help") {
    std::cout << kUsage;
    return 0;
  }
  auto command = Commands().find(name);
  if (command == Commands().end()) {
    std::cerr << "usage error: unknown command \"" << name << "\"\n" << kUsage;
    return kExitUsage;
  }
  std::set<std::string> booleans = command->second.booleans;
  booleans.insert("help");
  booleans.insert("json");
  auto args = ParseArgs(std::vector<std::string>(argv + i, argv + argc),
                        command->second.flags, booleans);
  if (!args.ok()) {
    std::cerr << "usage error: " << args.status().message() << "\n";
    return kExitUsage;
  }
  if (args->Has("help")) {
    std::cout << command->second.help;
    return 0;
  }
  Session session;
  const char* env_address = std::getenv("VOXGATE_ADDRESS");
  const std::string address = globals->Get(
      "address", env_address != nullptr ? env_address : "localhost:50051");
  session.timeout_given = globals->Has("timeout");
  if (globals->Has("timeout") &&
      !absl::ParseDuration(globals->Get("timeout"), &session.timeout)) {
    std::cerr << "usage error: --timeout is a duration such as 30s or 5m\n";
    return kExitUsage;
  }
  session.json = globals->Get("json") == "true" || args->Get("json") == "true";
  session.tty = isatty(STDOUT_FILENO);
  const char* env_key = std::getenv("VOXGATE_API_KEY");
  ChannelOptions channel;
  channel.address = address;
  channel.api_key = globals->Get("api-key", env_key != nullptr ? env_key : "");
  channel.tls = globals->Has("tls");
  channel.ca_file = globals->Get("ca-file");
  channel.cert_file = globals->Get("cert-file");
  channel.key_file = globals->Get("key-file");
  auto made = MakeChannel(channel);
  if (!made.ok()) {
    std::cerr << "usage error: " << made.status().message() << "\n";
    return made.status().code() == absl::StatusCode::kInvalidArgument &&
                   absl::StrContains(made.status().message(), "cannot read")
               ? kExitNoInput
               : kExitUsage;
  }
  session.stub = v1::VoxgateService::NewStub(*made);
  session.operations = google::longrunning::Operations::NewStub(*made);
  return command->second.run(session, *args);
}

}  // namespace
}  // namespace voxgate::cli

int main(int argc, char** argv) { return voxgate::cli::Main(argc, argv); }
