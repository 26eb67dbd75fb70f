#ifndef VOXGATE_TESTS_FAKE_UPSTREAM_FAKE_UPSTREAM_H_
#define VOXGATE_TESTS_FAKE_UPSTREAM_FAKE_UPSTREAM_H_

// A scriptable OpenAI-compatible model server on loopback, for every test and
// benchmark in the project. It speaks the endpoints the gateway uses exactly:
//
//   POST /v1/audio/transcriptions  multipart; json, verbose_json, text, srt,
//   vtt;
//                                  stream=true as OpenAI transcript.text.*
//                                  events or vLLM transcription.chunk objects
//   POST /v1/chat/completions      text and input_audio parts; plain or SSE
//   stream
//                                  with stream_options.include_usage
//   GET  /v1/models, GET /health
//
// Audio it receives is probed (rate, channels, frames, CRC-32 of the PCM) and,
// unless a reply text is scripted, described in the reply, so tests can check
// preprocessing and chunking through the gateway. Every request is recorded
// with its timing and the concurrency it saw.
//
// Behaviour per request, first match wins: a JSON FakeBehavior in the request's
// `x-fake-behavior` header, then scripted behaviours (Script(), or POST
// /_fake/script from other processes), then the default.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tests/fake_upstream/http_wire.h"
#include "tests/fake_upstream/payloads.h"

namespace voxgate::testing {

struct FakeBehavior {
  // HTTP status; non-2xx answers carry an OpenAI error body.
  int status = 200;
  // Wait before the status line (the connection is watched meanwhile).
  absl::Duration latency = absl::ZeroDuration();
  // Retry-After header in seconds; negative for none.
  int retry_after_seconds = -1;
  // Reset the connection instead of answering.
  bool reset_before_response = false;
  // Send this many body bytes, then reset; negative for off.
  int64_t reset_after_body_bytes = -1;
  // Never answer; wait until the client goes away.
  bool hang = false;
  // Pause between stream events, or between 16-byte pieces of a plain body.
  absl::Duration chunk_interval = absl::ZeroDuration();
  // Answer 200 with a body that is not valid JSON.
  bool malformed_json = false;
  // Reply or transcript text; empty: describe the audio, or echo the last user
  // text.
  std::string text;
  // Transcription streams: "openai" (transcript.text.*) or "vllm"
  // (transcription.chunk).
  std::string stream_style = "openai";

  static FakeBehavior FromJson(const nlohmann::json& json);
  nlohmann::json ToJson() const;
};

struct FakeRequest {
  WireRequest wire;
  nlohmann::json json;            // the body, when it is JSON
  std::vector<FormPart> form;     // the body, when it is multipart
  std::vector<AudioProbe> audio;  // file parts and input_audio parts
  absl::Time received;
  absl::Time finished;
  int in_flight_at_arrival = 0;  // including this one
  bool client_closed_early = false;
  int connection = 0;  // which TCP connection carried it

  // The first form field named `name`, or "".
  std::string FormValue(absl::string_view name) const;
  std::vector<std::string> FormValues(absl::string_view name) const;
};

class FakeUpstream {
 public:
  // Listens on 127.0.0.1:`port` (0 picks a free one).
  static absl::StatusOr<std::unique_ptr<FakeUpstream>> Start(int port = 0);
  ~FakeUpstream();

  int port() const { return port_; }
  // "http://127.0.0.1:<port>/v1".
  std::string base_url() const;

  void SetDefault(const FakeBehavior& behavior);
  // The next `times` requests whose path starts with `path_prefix` behave so.
  void Script(const std::string& path_prefix, const FakeBehavior& behavior,
              int times = 1);
  void ClearScripts();
  void SetModels(std::vector<std::string> models);

  std::vector<FakeRequest> Requests() const;
  // Requests whose path starts with `path_prefix`.
  std::vector<FakeRequest> Requests(absl::string_view path_prefix) const;
  void ClearRequests();
  int max_in_flight() const;
  int in_flight() const;
  int connections_accepted() const;

  // Waits until `condition` over the recorded requests holds; false on timeout.
  bool WaitUntil(
      const std::function<bool(const std::vector<FakeRequest>&)>& condition,
      absl::Duration timeout) const;

 private:
  FakeUpstream(int listen_fd, int port) : listen_fd_(listen_fd), port_(port) {}
  void AcceptLoop();
  // GET /v1/models's body: the ids of SetModels.
  std::string ModelList() const;
  void Serve(int fd, int connection);
  FakeBehavior Choose(const WireRequest& request);
  // Handles one request; false when the connection must close.
  bool Handle(HttpConnection& connection, FakeRequest& record);
  bool HandleControl(HttpConnection& connection, const WireRequest& request);
  // Sleeps `duration` while watching the peer; false when it went away.
  bool WaitWatching(HttpConnection& connection, absl::Duration duration);
  // Publishes a finished request; returns its index.
  std::size_t Record(FakeRequest record);
  void MarkClosedEarly(std::size_t index);

  struct Scripted {
    std::string path_prefix;
    FakeBehavior behavior;
    int remaining;
  };

  const int listen_fd_;
  const int port_;
  std::thread acceptor_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  FakeBehavior default_ ABSL_GUARDED_BY(mu_);
  std::deque<Scripted> scripts_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> models_ ABSL_GUARDED_BY(mu_) = {"fake-model"};
  std::vector<FakeRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
  // By connection; ended connections' threads are joined as new ones come.
  std::map<int, std::thread> workers_ ABSL_GUARDED_BY(mu_);
  std::vector<int> ended_connections_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int max_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace voxgate::testing

#endif  // VOXGATE_TESTS_FAKE_UPSTREAM_FAKE_UPSTREAM_H_
