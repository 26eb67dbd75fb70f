#include "http/http_call.h"

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "server/call_end.h"

namespace voxgate::http {
namespace {

std::string Millis(absl::Duration duration) {
  return absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(duration));
}

}  // namespace

std::optional<absl::string_view> HeaderMetadata::Find(
    absl::string_view key) const {
  return request_.Header(key);
}

HttpCall::HttpCall(const HttpRequest& request, const server::MethodInfo& method,
                   const server::CallServices& services, LiveCalls& live)
    : call_(server::NewCallContext(request.Header("x-request-id").value_or(""),
                                   absl::InfiniteFuture(),
                                   services.default_deadline)),
      method_(method),
      services_(services),
      live_(live),
      request_(&request) {
  services_.metrics.Started(method_.name);
  live_.Add(this);
}

HttpCall::~HttpCall() {
  End(absl::CancelledError("the call was dropped before it ended"))
      .IgnoreError();  // nobody is left to tell
}

void HttpCall::Admit(int64_t request_bytes,
                     std::function<void(absl::Status)> admitted,
                     std::optional<absl::string_view> model) {
  HeaderMetadata metadata(*request_);
  server::AdmissionRequest request;
  request.method = method_.name;
  request.method_class = method_.method_class;
  request.long_lived_stream = method_.long_lived_stream;
  request.peer = request_->peer;
  request.identity = request_->identity;
  request.model = model.value_or("");
  request.model_known = model.has_value();
  request.metadata = &metadata;
  request.request_bytes = request_bytes;
  const CancelScope::Key key = work_.Reserve();
  auto on_ticket = [self = shared_from_this(), key, admitted](
                       absl::StatusOr<server::Admission::Ticket> ticket) {
    self->work_.Done(key);
    if (!ticket.ok()) return admitted(ticket.status());
    {
      absl::MutexLock lock(&self->mu_);
      self->ticket_.emplace(*std::move(ticket));
      server::AttachGrant(*self->ticket_, self->call_);
    }
    self->call_.queue_time = absl::Now() - self->call_.started;
    admitted(absl::OkStatus());
  };
  server::Admission& admission = services_.admission;
  server::Admission::Decision decision = admission.Admit(request, on_ticket);
  request_ = nullptr;
  if (decision.waiting()) {
    work_.Attach(
        key, [&admission, id = decision.wait_id] { admission.CancelWait(id); });
    return;
  }
  if (decision.ticket.has_value()) {
    on_ticket(*std::move(decision.ticket));
  } else {
    on_ticket(decision.refused);
  }
}

server::CallScope HttpCall::scope() {
  return {
      call_, work_, pool_,
      [self = shared_from_this()]() -> std::shared_ptr<void> { return self; }};
}

absl::Status HttpCall::End(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  if (ended_.has_value()) return *ended_;
  total_ = absl::Now() - call_.started;
  ended_ = server::RecordCallEnd(call_, method_.name, pool_, status,
                                 services_.logger, services_.metrics);
  server::ChargeUsage(ticket_, call_, method_.name, status.code());
  ticket_.reset();
  live_.Remove(this);
  return *ended_;
}

Headers HttpCall::ResponseHeaders() const {
  Headers headers = {{"x-request-id", call_.request_id}};
  absl::MutexLock lock(const_cast<absl::Mutex*>(&mu_));
  if (ended_.has_value()) {
    headers.emplace_back("voxgate-queue-ms", Millis(call_.queue_time));
    headers.emplace_back("voxgate-preprocess-ms",
                         Millis(call_.preprocess_time));
    headers.emplace_back("voxgate-upstream-ms", Millis(call_.upstream_time));
    headers.emplace_back("voxgate-total-ms", Millis(total_));
    headers.emplace_back("voxgate-overhead-ms",
                         Millis(total_ - call_.upstream_time));
  }
  return headers;
}

void LiveCalls::Add(HttpCall* call) {
  absl::MutexLock lock(&mu_);
  calls_.insert(call);
}

void LiveCalls::Remove(HttpCall* call) {
  absl::MutexLock lock(&mu_);
  calls_.erase(call);
}

bool LiveCalls::AwaitNone(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithDeadline(
      absl::Condition(
          +[](std::set<HttpCall*>* calls) { return calls->empty(); }, &calls_),
      deadline);
}

void LiveCalls::CancelAll() {
  std::vector<std::shared_ptr<HttpCall>> calls;
  {
    absl::MutexLock lock(&mu_);
    for (HttpCall* call : calls_) {
      // A call being destroyed has no owner left to cancel.
      if (auto alive = call->weak_from_this().lock()) calls.push_back(alive);
    }
  }
  for (auto& call : calls) call->Cancel();
}

}  // namespace voxgate::http
