#include "server/call_metrics.h"

#include <map>

#include "absl/strings/match.h"

namespace voxgate::server {
namespace {

// The service a method belongs to, as gRPC names it.
std::string ServiceOf(const std::string& method) {
  return absl::EndsWith(method, "Operation") ||
                 absl::EndsWith(method, "Operations")
             ? "google.longrunning.Operations"
             : "voxgate.v1.VoxgateService";
}

const std::map<std::string, std::string>& MethodTypes() {
  static const auto* types = new std::map<std::string, std::string>{
      {"Transcribe", "unary"},
      {"Analyze", "unary"},
      {"Chat", "unary"},
      {"ListModels", "unary"},
      {"ChatStream", "server_stream"},
      {"StreamTranscribe", "bidi_stream"},
      {"TranscribeUpload", "bidi_stream"},
      {"BatchTranscribe", "unary"},
      {"GetOperation", "unary"},
      {"ListOperations", "unary"},
      {"WaitOperation", "unary"},
      {"CancelOperation", "unary"},
      {"DeleteOperation", "unary"}};
  return *types;
}

// The Go names go-grpc-prometheus uses for codes ("OK", "InvalidArgument").
std::string CodeName(absl::StatusCode code) {
  static const char* kNames[] = {"OK",
                                 "Canceled",
                                 "Unknown",
                                 "InvalidArgument",
                                 "DeadlineExceeded",
                                 "NotFound",
                                 "AlreadyExists",
                                 "PermissionDenied",
                                 "ResourceExhausted",
                                 "FailedPrecondition",
                                 "Aborted",
                                 "OutOfRange",
                                 "Unimplemented",
                                 "Internal",
                                 "Unavailable",
                                 "DataLoss",
                                 "Unauthenticated"};
  const int index = static_cast<int>(code);
  return index >= 0 && index < 17 ? kNames[index] : "Unknown";
}

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
      0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
  return *buckets;
}

prometheus::Labels MethodLabels(const std::string& method) {
  return {{"grpc_service", ServiceOf(method)},
          {"grpc_method", method},
          {"grpc_type", MethodTypes().at(method)}};
}

}  // namespace

CallMetrics::CallMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      started_(prometheus::BuildCounter()
                   .Name("grpc_server_started_total")
                   .Help("RPCs started on the server.")
                   .Register(*registry_)),
      handled_(prometheus::BuildCounter()
                   .Name("grpc_server_handled_total")
                   .Help("RPCs completed on the server, by code.")
                   .Register(*registry_)),
      handling_(
          prometheus::BuildHistogram()
              .Name("grpc_server_handling_seconds")
              .Help("Time from the start of an RPC to its status, seconds.")
              .Register(*registry_)),
      overhead_(
          prometheus::BuildHistogram()
              .Name("voxgate_gateway_overhead_seconds")
              .Help("Time an RPC spent outside upstream requests, seconds.")
              .Register(*registry_)),
      received_(prometheus::BuildCounter()
                    .Name("grpc_server_msg_received_total")
                    .Help("RPC messages received on the server.")
                    .Register(*registry_)),
      sent_(prometheus::BuildCounter()
                .Name("grpc_server_msg_sent_total")
                .Help("RPC messages sent by the server.")
                .Register(*registry_)),
      preprocess_(prometheus::BuildHistogram()
                      .Name("voxgate_audio_preprocess_seconds")
                      .Help("Decoding, resampling, normalising and cutting "
                            "one call's audio, seconds.")
                      .Register(*registry_)),
      audio_seconds_(prometheus::BuildCounter()
                         .Name("voxgate_audio_seconds_total")
                         .Help("Seconds of audio processed.")
                         .Register(*registry_)),
      chunks_(prometheus::BuildHistogram()
                  .Name("voxgate_transcribe_chunks")
                  .Help("Chunks one call's audio was cut into.")
                  .Register(*registry_)
                  .Add({},
                       prometheus::Histogram::BucketBoundaries{
                           1, 2, 4, 8, 16, 32, 64, 128, 256, 512})),
      utterances_(prometheus::BuildCounter()
                      .Name("voxgate_stream_utterances_total")
                      .Help("Utterances StreamTranscribe found and sent "
                            "upstream.")
                      .Register(*registry_)
                      .Add({})),
      interims_(prometheus::BuildCounter()
                    .Name("voxgate_stream_interim_results_total")
                    .Help("Interim results StreamTranscribe sent.")
                    .Register(*registry_)
                    .Add({})),
      escaped_(prometheus::BuildCounter()
                   .Name("voxgate_escaped_exceptions_total")
                   .Help("Exceptions that escaped request handling and were "
                         "answered by the last-resort boundary (500 or "
                         "close 1011); should stay 0.")
                   .Register(*registry_)) {
  for (const auto& [method, type] : MethodTypes()) {
    started_.Add({{"grpc_service", ServiceOf(method)},
                  {"grpc_method", method},
                  {"grpc_type", type}});
    for (int code = 0; code < 17; ++code) {
      handled_.Add(
          {{"grpc_service", ServiceOf(method)},
           {"grpc_method", method},
           {"grpc_type", type},
           {"grpc_code", CodeName(static_cast<absl::StatusCode>(code))}});
    }
    handling_.Add({{"grpc_service", ServiceOf(method)},
                   {"grpc_method", method},
                   {"grpc_type", type}},
                  LatencyBuckets());
    overhead_.Add({{"grpc_method", method}}, LatencyBuckets());
    received_.Add(MethodLabels(method));
    sent_.Add(MethodLabels(method));
    if (method != "Chat" && method != "ListModels") {
      preprocess_.Add({{"grpc_method", method}}, LatencyBuckets());
      audio_seconds_.Add({{"grpc_method", method}});
    }
  }
}

void CallMetrics::MessageReceived(const std::string& method) {
  received_.Add(MethodLabels(method)).Increment();
}

void CallMetrics::MessageSent(const std::string& method) {
  sent_.Add(MethodLabels(method)).Increment();
}

void CallMetrics::AudioProcessed(const std::string& method,
                                 absl::Duration preprocess,
                                 double audio_seconds, int chunks) {
  if (preprocess > absl::ZeroDuration()) {  // streams process as they go
    preprocess_.Add({{"grpc_method", method}}, LatencyBuckets())
        .Observe(absl::ToDoubleSeconds(preprocess));
  }
  audio_seconds_.Add({{"grpc_method", method}}).Increment(audio_seconds);
  if (chunks > 0) chunks_.Observe(chunks);
}

void CallMetrics::Started(const std::string& method) {
  // A unary or server-streaming call's one request message.
  if (MethodTypes().at(method) != "bidi_stream") MessageReceived(method);
  started_
      .Add({{"grpc_service", ServiceOf(method)},
            {"grpc_method", method},
            {"grpc_type", MethodTypes().at(method)}})
      .Increment();
}

void CallMetrics::Handled(const std::string& method, absl::StatusCode code,
                          absl::Duration total, absl::Duration upstream) {
  const std::string& type = MethodTypes().at(method);
  handled_
      .Add({{"grpc_service", ServiceOf(method)},
            {"grpc_method", method},
            {"grpc_type", type},
            {"grpc_code", CodeName(code)}})
      .Increment();
  handling_
      .Add({{"grpc_service", ServiceOf(method)},
            {"grpc_method", method},
            {"grpc_type", type}},
           LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(total));
  overhead_.Add({{"grpc_method", method}}, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(total - upstream));
  if (type == "unary" && code == absl::StatusCode::kOk) MessageSent(method);
}

void CallMetrics::ExceptionEscaped(const std::string& route) {
  escaped_.Add({{"route", route}}).Increment();
}

}  // namespace voxgate::server
