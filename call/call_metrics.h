#ifndef VOXGATE_CALL_CALL_METRICS_H_
#define VOXGATE_CALL_CALL_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace voxgate::call {

// Per-RPC metrics with the go-grpc-prometheus names: grpc_server_started_total,
// grpc_server_handled_total (by code), grpc_server_handling_seconds,
// grpc_server_msg_received_total and grpc_server_msg_sent_total; and
// voxgate_gateway_overhead_seconds (total minus upstream time), audio
// (voxgate_audio_preprocess_seconds, voxgate_audio_seconds_total,
// voxgate_transcribe_chunks) and stream results
// (voxgate_stream_utterances_total, voxgate_stream_interim_results_total);
// and voxgate_escaped_exceptions_total, which should stay 0.
// Every series exists from the start (at 0). Thread-safe.
class CallMetrics {
 public:
  CallMetrics();

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  // `method` is the RPC name ("Chat"); `type` unary, server_stream or
  // bidi_stream.
  void Started(const std::string& method);
  void Handled(const std::string& method, absl::StatusCode code,
               absl::Duration total, absl::Duration upstream);
  // Stream messages; Started and Handled count the unary ones.
  void MessageReceived(const std::string& method);
  void MessageSent(const std::string& method);
  // A call that decoded audio: its preprocessing time, the audio's length and
  // the chunks it was cut into (0: not cut, e.g. a stream).
  void AudioProcessed(const std::string& method, absl::Duration preprocess,
                      double audio_seconds, int chunks);
  void StreamUtterance() { utterances_.Increment(); }
  void StreamInterimResult() { interims_.Increment(); }
  // An exception escaped handler code and the last-resort boundary answered
  // (voxgate_escaped_exceptions_total{route}); `route` is one of the
  // server's own routes, never caller text.
  void ExceptionEscaped(const std::string& route);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& handling_;
  prometheus::Family<prometheus::Histogram>& overhead_;
  prometheus::Family<prometheus::Counter>& received_;
  prometheus::Family<prometheus::Counter>& sent_;
  prometheus::Family<prometheus::Histogram>& preprocess_;
  prometheus::Family<prometheus::Counter>& audio_seconds_;
  prometheus::Histogram& chunks_;
  prometheus::Counter& utterances_;
  prometheus::Counter& interims_;
  prometheus::Family<prometheus::Counter>& escaped_;
};

}  // namespace voxgate::call

#endif  // VOXGATE_CALL_CALL_METRICS_H_
