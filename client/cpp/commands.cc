#include "client/cpp/commands.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/cpp/upload.h"
#include "common/wav_format.h"
#include "google/protobuf/util/json_util.h"

namespace voxgate::cli {
namespace {

bool ReadFile(const std::string& path, std::string& bytes) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return false;
  std::ostringstream content;
  content << file.rdbuf();
  bytes = content.str();
  return true;
}

void SetDeadline(grpc::ClientContext& context, const Session& session) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + session.timeout));
}

double Seconds(const google::protobuf::Duration& duration) {
  return duration.seconds() + duration.nanos() / 1e9;
}

void PrintWarnings(const google::protobuf::RepeatedPtrField<std::string>& w) {
  for (const std::string& warning : w)
    std::cerr << "warning: " << warning << "\n";
}

// While a long call runs, shows on stderr what is being done and for how long
// (gRPC reports no upload progress, so time is what there is to show).
class Progress {
 public:
  Progress(bool show, std::string what) {
    if (!show) return;
    thread_ = std::thread([this, what = std::move(what)] {
      const absl::Time start = absl::Now();
      static const char kSpin[] = "|/-\\";
      for (int i = 0;
           !done_.WaitForNotificationWithTimeout(absl::Milliseconds(200));
           ++i) {
        std::fprintf(stderr, "\r%c %s %.1f s", kSpin[i % 4], what.c_str(),
                     absl::ToDoubleSeconds(absl::Now() - start));
        std::fflush(stderr);
      }
      std::fprintf(stderr, "\r\033[K");
    });
  }
  ~Progress() {
    done_.Notify();
    if (thread_.joinable()) thread_.join();
  }

 private:
  absl::Notification done_;
  std::thread thread_;
};

}  // namespace

std::string Json(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

// Prints the failure and returns its exit code (the gRPC code).
int Fail(const grpc::Status& status) {
  std::cerr << "error: " << status.error_message() << " ("
            << absl::StatusCodeToString(
                   static_cast<absl::StatusCode>(status.error_code()))
            << ")\n";
  return static_cast<int>(status.error_code());
}

int Usage(const std::string& message) {
  std::cerr << "usage error: " << message << " (see --help)\n";
  return kExitUsage;
}

int Transcribe(Session& session, const Args& args) {
  if (args.positional.size() != 1) return Usage("transcribe takes one FILE");
  const std::string& path = args.positional[0];
  const std::string format = session.json ? "json" : args.Get("format", "text");
  v1::RecognitionConfig config;
  config.set_model(args.Get("model"));
  if (args.Has("language")) config.add_language_codes(args.Get("language"));
  if (format == "srt") {
    config.add_output_formats(v1::OUTPUT_FORMAT_SRT);
  } else if (format == "vtt") {
    config.add_output_formats(v1::OUTPUT_FORMAT_VTT);
  } else if (format == "json") {
    config.add_output_formats(v1::OUTPUT_FORMAT_SEGMENTS);
  } else if (format != "text") {
    return Usage("--format is text, srt, vtt or json");
  }
  std::error_code unreadable;
  const uintmax_t size = std::filesystem::file_size(path, unreadable);
  if (unreadable) {
    std::cerr << "error: cannot read " << path << "\n";
    return kExitNoInput;
  }
  grpc::ClientContext context;
  v1::TranscribeResponse response;
  grpc::Status status;
  const bool upload = args.Has("upload") || size > kUploadThresholdBytes;
  // An upload of hours of audio may take longer than a call's default: unless
  // --timeout says otherwise, the gateway's stream deadline applies.
  if (!upload || session.timeout_given) SetDeadline(context, session);
  if (upload) {
    const ProgressStyle style = isatty(STDERR_FILENO)  ? ProgressStyle::kBar
                                : args.Has("progress") ? ProgressStyle::kLines
                                                       : ProgressStyle::kNone;
    status = UploadFile(*session.stub, context, path,
                        static_cast<int64_t>(size), config, style, response);
  } else {
    v1::TranscribeRequest request;
    *request.mutable_config() = std::move(config);
    if (!ReadFile(path, *request.mutable_audio()->mutable_content())) {
      std::cerr << "error: cannot read " << path << "\n";
      return kExitNoInput;
    }
    const double mib = size / 1048576.0;
    Progress progress(isatty(STDERR_FILENO) && mib >= 1,
                      absl::StrFormat("transcribing %s (%.1f MiB)", path, mib));
    status = session.stub->Transcribe(&context, request, &response);
  }
  if (!status.ok()) return Fail(status);
  PrintWarnings(response.warnings());
  if (format == "json") {
    std::cout << Json(response) << "\n";
  } else if (format == "srt") {
    std::cout << response.srt();
  } else if (format == "vtt") {
    std::cout << response.vtt();
  } else {
    std::cout << response.text() << "\n";
  }
  return 0;
}

namespace {

// How fast a file's bytes go at real time, from its WAV header: 0 when it is
// not WAV (other containers go as fast as the stream takes them; the
// gateway decodes them as they arrive).
double WavBytesPerSecond(const std::string& bytes) {
  const std::optional<WavLayout> layout = ParseWavHeader(bytes);
  if (!layout.has_value()) return 0;
  return static_cast<double>(layout->sample_rate) * layout->channels *
         layout->bits_per_sample / 8;
}

}  // namespace

int Stream(Session& session, const Args& args) {
  if (args.positional.size() != 1) return Usage("stream takes FILE or -");
  const bool from_stdin = args.positional[0] == "-";
  double speed = 1;
  if (args.Has("speed") &&
      (!absl::SimpleAtod(args.Get("speed"), &speed) || speed < 0)) {
    return Usage("--speed is a factor of real time, 0 for as fast as possible");
  }
  int rate = 16000;
  if (from_stdin && args.Has("rate") &&
      !absl::SimpleAtoi(args.Get("rate"), &rate))
    return Usage("--rate is the sample rate of raw stdin audio");
  // A file goes as it is (any container the gateway streams); the gateway
  // decodes it. Only raw stdin needs its format described.
  std::string file;
  if (!from_stdin && !ReadFile(args.positional[0], file)) {
    std::cerr << "error: cannot read " << args.positional[0] << "\n";
    return kExitNoInput;
  }
  grpc::ClientContext context;
  SetDeadline(context, session);
  auto stream = session.stub->StreamTranscribe(&context);
  v1::StreamTranscribeRequest config;
  v1::StreamTranscribeConfig& stream_config = *config.mutable_config();
  if (from_stdin) {
    stream_config.mutable_format()->set_encoding(v1::AUDIO_ENCODING_LINEAR16);
    stream_config.mutable_format()->set_sample_rate_hertz(rate);
    stream_config.mutable_format()->set_channel_count(1);
  } else {
    stream_config.mutable_format()->set_encoding(v1::AUDIO_ENCODING_AUTO);
  }
  stream_config.set_interim_results(!args.Has("no-interim"));
  stream_config.mutable_recognition()->set_model(args.Get("model"));
  if (args.Has("language"))
    stream_config.mutable_recognition()->add_language_codes(
        args.Get("language"));
  stream->Write(config);

  std::thread reader([&] {
    v1::StreamTranscribeResponse response;
    bool interim_shown = false;
    while (stream->Read(&response)) {
      PrintWarnings(response.warnings());
      if (session.json) {
        std::cout << Json(response) << std::endl;
        continue;
      }
      if (!response.has_result()) continue;
      const v1::StreamResult& result = response.result();
      if (!result.is_final()) {
        // Interim text is rewritten in place on a terminal, skipped otherwise.
        if (session.tty) {
          std::cout << "\r\033[K… " << result.text() << std::flush;
          interim_shown = true;
        }
        continue;
      }
      if (interim_shown) std::cout << "\r\033[K";
      interim_shown = false;
      std::cout << absl::StrFormat("[%7.2f - %7.2f] %s\n",
                                   Seconds(result.start_offset()),
                                   Seconds(result.end_offset()), result.text())
                << std::flush;
    }
  });

  constexpr std::size_t kPiece = 16384;
  bool writing = true;
  if (from_stdin) {
    std::vector<char> buffer(static_cast<std::size_t>(rate) / 5);  // 100 ms
    std::size_t n;
    while (writing &&
           (n = std::fread(buffer.data(), 1, buffer.size(), stdin)) > 0) {
      v1::StreamTranscribeRequest audio;
      audio.set_audio(std::string(buffer.data(), n));
      writing = stream->Write(audio);
    }
  } else {
    const double bytes_per_second = WavBytesPerSecond(file);
    const absl::Time start = absl::Now();
    for (std::size_t at = 0; writing && at < file.size(); at += kPiece) {
      if (speed > 0 && bytes_per_second > 0) {
        // Real time (times --speed): a piece goes when it would have been
        // recorded.
        absl::SleepFor(start + absl::Seconds(at / bytes_per_second / speed) -
                       absl::Now());
      }
      v1::StreamTranscribeRequest audio;
      audio.set_audio(file.substr(at, kPiece));
      writing = stream->Write(audio);
    }
  }
  stream->WritesDone();
  reader.join();
  const grpc::Status status = stream->Finish();
  return status.ok() ? 0 : Fail(status);
}

namespace {

bool ParseGeneration(const Args& args, v1::GenerationConfig& generation,
                     std::string& error) {
  if (args.Has("max-tokens")) {
    int tokens;
    if (!absl::SimpleAtoi(args.Get("max-tokens"), &tokens)) {
      error = "--max-tokens is a number";
      return false;
    }
    generation.set_max_tokens(tokens);
  }
  if (args.Has("temperature")) {
    float temperature;
    if (!absl::SimpleAtof(args.Get("temperature"), &temperature)) {
      error = "--temperature is a number";
      return false;
    }
    generation.set_temperature(temperature);
  }
  return true;
}

}  // namespace

int Chat(Session& session, const Args& args) {
  if (args.positional.empty())
    return Usage("chat takes a MESSAGE (or - for stdin)");
  std::string text = absl::StrJoin(args.positional, " ");
  if (text == "-") {
    std::ostringstream input;
    input << std::cin.rdbuf();
    text = input.str();
  }
  v1::ChatRequest request;
  request.set_model(args.Get("model"));
  if (args.Has("system")) {
    v1::ChatMessage* system = request.add_messages();
    system->set_role(v1::ROLE_SYSTEM);
    system->add_content()->set_text(args.Get("system"));
  }
  v1::ChatMessage* user = request.add_messages();
  user->set_role(v1::ROLE_USER);
  user->add_content()->set_text(text);
  std::string error;
  if (!ParseGeneration(args, *request.mutable_generation(), error))
    return Usage(error);

  grpc::ClientContext context;
  SetDeadline(context, session);
  if (args.Has("no-stream")) {
    v1::ChatResponse response;
    const grpc::Status status =
        session.stub->Chat(&context, request, &response);
    if (!status.ok()) return Fail(status);
    PrintWarnings(response.warnings());
    std::cout << (session.json ? Json(response) : response.content()) << "\n";
    return 0;
  }
  auto reader = session.stub->ChatStream(&context, request);
  v1::ChatChunk chunk;
  while (reader->Read(&chunk)) {
    if (session.json) {
      std::cout << Json(chunk) << std::endl;
    } else {
      std::cout << chunk.delta() << std::flush;  // each delta as it arrives
    }
  }
  const grpc::Status status = reader->Finish();
  if (!session.json) std::cout << "\n";
  return status.ok() ? 0 : Fail(status);
}

int Analyze(Session& session, const Args& args) {
  if (args.positional.size() != 2)
    return Usage("analyze takes FILE and \"INSTRUCTION\"");
  v1::AnalyzeRequest request;
  if (!ReadFile(args.positional[0],
                *request.mutable_audio()->mutable_content())) {
    std::cerr << "error: cannot read " << args.positional[0] << "\n";
    return kExitNoInput;
  }
  request.set_instruction(args.positional[1]);
  request.set_model(args.Get("model"));
  // auto: the server picks (DIRECT when an audio chat model is configured).
  const std::string mode = args.Get("mode", "auto");
  if (mode == "direct") {
    request.set_mode(v1::ANALYZE_MODE_DIRECT);
  } else if (mode == "cascade") {
    request.set_mode(v1::ANALYZE_MODE_CASCADE);
  } else if (mode != "auto") {
    return Usage("--mode is auto, direct or cascade");
  }
  std::string error;
  if (!ParseGeneration(args, *request.mutable_generation(), error))
    return Usage(error);
  grpc::ClientContext context;
  SetDeadline(context, session);
  v1::AnalyzeResponse response;
  const grpc::Status status =
      session.stub->Analyze(&context, request, &response);
  if (!status.ok()) return Fail(status);
  if (session.json) {
    std::cout << Json(response) << "\n";
  } else {
    if (!response.transcript().empty())
      std::cerr << "transcript: " << response.transcript() << "\n";
    std::cout << response.answer() << "\n";
  }
  return 0;
}

int Models(Session& session, const Args& args) {
  if (!args.positional.empty()) return Usage("models takes no arguments");
  grpc::ClientContext context;
  SetDeadline(context, session);
  v1::ListModelsResponse response;
  const grpc::Status status = session.stub->ListModels(&context, {}, &response);
  if (!status.ok()) return Fail(status);
  if (session.json) {
    std::cout << Json(response) << "\n";
    return 0;
  }
  std::cout << absl::StrFormat("%-24s %-12s %-10s %s\n", "MODEL", "POOL",
                               "AVAILABLE", "CAPABILITIES");
  for (const v1::ModelInfo& model : response.models()) {
    std::vector<std::string> capabilities;
    for (int capability : model.capabilities()) {
      std::string name = v1::Capability_Name(capability);
      capabilities.push_back(absl::AsciiStrToLower(
          name.substr(std::string("CAPABILITY_").size())));
    }
    std::cout << absl::StrFormat("%-24s %-12s %-10s %s\n", model.id(),
                                 model.pool(), model.available() ? "yes" : "no",
                                 absl::StrJoin(capabilities, ","));
  }
  return 0;
}

}  // namespace voxgate::cli
