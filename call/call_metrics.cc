#include "call/call_metrics.h"

#include <map>

#include "call/methods.h"

namespace voxgate::call {
namespace {

// The registry's entry for a method the gateway serves; the doors name only
// methods from it.
const Method& MethodOf(const std::string& name) {
  const Method* method = FindMethod(name);
  return method != nullptr ? *method : kChat;
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

prometheus::Labels MethodLabels(const std::string& name) {
  const Method& method = MethodOf(name);
  return {{"grpc_service", method.service},
          {"grpc_method", method.name},
          {"grpc_type", ShapeName(method.shape)}};
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
  for (const Method* entry : AllMethods()) {
    const std::string method = entry->name;
    started_.Add(MethodLabels(method));
    for (int code = 0; code < 17; ++code) {
      prometheus::Labels labels = MethodLabels(method);
      labels.emplace("grpc_code", CodeName(static_cast<absl::StatusCode>(code)));
      handled_.Add(labels);
    }
    handling_.Add(MethodLabels(method), LatencyBuckets());
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
  if (MethodOf(method).shape != MethodShape::kBidiStream) MessageReceived(method);
  started_.Add(MethodLabels(method)).Increment();
}

void CallMetrics::Handled(const std::string& method, absl::StatusCode code,
                          absl::Duration total, absl::Duration upstream) {
  prometheus::Labels labels = MethodLabels(method);
  handling_.Add(labels, LatencyBuckets()).Observe(absl::ToDoubleSeconds(total));
  labels.emplace("grpc_code", CodeName(code));
  handled_.Add(labels).Increment();
  overhead_.Add({{"grpc_method", method}}, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(total - upstream));
  if (MethodOf(method).shape == MethodShape::kUnary && code == absl::StatusCode::kOk) MessageSent(method);
}

void CallMetrics::ExceptionEscaped(const std::string& route) {
  escaped_.Add({{"route", route}}).Increment();
}

}  // namespace voxgate::call
