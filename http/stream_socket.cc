#include "http/stream_socket.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/proto_duration.h"
#include "google/protobuf/util/json_util.h"
#include "http/http_errors.h"
#include "http/stream_messages.h"

namespace voxgate::http {

StreamSocket::StreamSocket(std::shared_ptr<WebSocketConnection> connection,
                           std::shared_ptr<HttpCall> call,
                           const operations::OperationServices& operations,
                           call::CallMetrics& metrics)
    : connection_(std::move(connection)),
      call_(std::move(call)),
      operations_(operations),
      metrics_(metrics),
      watchdog_(ToAbsl(operations.config.limits().stream_idle_timeout()),
                "send {\"type\": \"end\"} to end the stream") {}

void StreamSocket::Begin(absl::Status admitted) {
  if (!admitted.ok()) {
    const absl::Status shown = call_->End(admitted);
    connection_->Close(WebSocketCloseCodeFor(shown.code()),
                       std::string(shown.message()));
    return;
  }
  auto session = std::make_shared<operations::StreamSession>(
      operations_.config, operations_.routing, operations_.workers, metrics_,
      call_->context(), *this);
  {
    absl::MutexLock lock(&mu_);
    self_ = shared_from_this();
    session_ = session;
  }
  // A cancel of the call (the front door stopping) ends the stream.
  CancelScope& work = call_->work();
  cancel_key_ = work.Reserve();
  work.Attach(cancel_key_,
              [weak = std::weak_ptr<operations::StreamSession>(session)] {
                if (auto alive = weak.lock()) {
                  alive->Fail(absl::UnavailableError(
                      "the gateway is shutting down; reconnect to another "
                      "replica"));
                }
              });
  absl::MutexLock lock(&mu_);
  wants_input_ = true;  // the config
  ReadLocked();
  ArmTimerLocked(operations_.timers.clock().Now());
}

void StreamSocket::ArmTimerLocked(absl::Time idle_since) {
  TimerQueue& timers = operations_.timers;
  timer_ = timers.Schedule(
      watchdog_.NextCheck(call_->context(), idle_since, timers.clock().Now()),
      [weak = weak_from_this()] {
        if (auto self = weak.lock()) self->OnTimer();
      });
}

void StreamSocket::OnTimer() {
  absl::Status expired;
  std::shared_ptr<operations::StreamSession> session;
  {
    absl::MutexLock lock(&mu_);
    timer_ = 0;
    if (closed_) return;
    session = session_;
    const absl::Time now = operations_.timers.clock().Now();
    expired = watchdog_.Check(call_->context(), now, reading_, read_started_);
    if (expired.ok()) {
      ArmTimerLocked(reading_ ? read_started_ : now);
      return;
    }
  }
  session->Fail(expired);
}

void StreamSocket::ReadLocked() {
  if (!wants_input_ || reading_ || closed_ || unsent_ >= kMaxUnsent) return;
  wants_input_ = false;
  reading_ = true;
  read_started_ = operations_.timers.clock().Now();
  connection_->Read(
      [self = shared_from_this()](absl::StatusOr<WebSocketMessage> message) {
        self->OnMessage(std::move(message));
      });
}

void StreamSocket::OnMessage(absl::StatusOr<WebSocketMessage> message) {
  bool configured;
  // The stream may have ended while the read waited (an upstream error, a
  // deadline): the read then completes with the close, and there is no
  // session left to tell.
  std::shared_ptr<operations::StreamSession> session;
  {
    absl::MutexLock lock(&mu_);
    reading_ = false;
    if (closed_) return;
    session = session_;
    configured = configured_;
    configured_ = true;
    if (!message.ok() &&
        message.status().code() == absl::StatusCode::kResourceExhausted) {
      too_big_close_ = 1009;
    }
  }
  if (!message.ok()) return session->Fail(message.status());
  metrics_.MessageReceived("StreamTranscribe");
  if (!configured) {
    if (!message->text) {
      return session->Fail(absl::InvalidArgumentError(
          "the first message must be the StreamTranscribeConfig as JSON "
          "text"));
    }
    absl::StatusOr<v1::StreamTranscribeConfig> config =
        StreamConfigFromJson(message->data);
    if (!config.ok()) return session->Fail(config.status());
    return session->Configure(*config);
  }
  if (!message->text) return session->Push(std::move(message->data), false);
  absl::StatusOr<StreamControl> control = StreamControlFromJson(message->data);
  if (!control.ok()) return session->Fail(control.status());
  switch (*control) {
    case StreamControl::kFinalize:
      return session->Push("", true);
    case StreamControl::kEnd:
      return session->EndOfInput();
  }
}

void StreamSocket::OnReadyForInput() {
  absl::MutexLock lock(&mu_);
  wants_input_ = true;
  ReadLocked();
}

void StreamSocket::OnResponse(v1::StreamTranscribeResponse response) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = false;
  (void)google::protobuf::util::MessageToJsonString(response, &json, options);
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    ++unsent_;
  }
  metrics_.MessageSent("StreamTranscribe");
  connection_->Send(std::move(json),
                    [self = shared_from_this()](bool) { self->OnSent(); });
}

void StreamSocket::OnSent() {
  absl::MutexLock lock(&mu_);
  --unsent_;
  ReadLocked();
}

void StreamSocket::OnEnd(absl::Status status) {
  const absl::Status shown = call_->End(status);
  int code = WebSocketCloseCodeFor(shown.code());
  call_->work().Done(cancel_key_);
  // The session is done with this socket; the connection's own callbacks
  // hold it while they run. Both are let go as this returns, not under mu_.
  std::shared_ptr<operations::StreamSession> session;
  std::shared_ptr<StreamSocket> self;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    if (too_big_close_ != 0) code = too_big_close_;
    if (timer_ != 0) operations_.timers.Cancel(timer_);
    timer_ = 0;
    session = std::move(session_);
    self = std::move(self_);
  }
  connection_->Close(code, shown.ok() ? "" : std::string(shown.message()));
}

}  // namespace voxgate::http
