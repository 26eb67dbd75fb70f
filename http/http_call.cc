#include "http/http_call.h"

#include "absl/time/clock.h"

namespace voxgate::http {

std::optional<absl::string_view> HeaderMetadata::Find(
    absl::string_view key) const {
  return request_.Header(key);
}

HttpCall::HttpCall(const HttpRequest& request, const call::Method& method,
                   const call::CallServices& services, LiveCalls& live,
                   absl::Time deadline)
    : call_(method, services, request.Header("x-request-id").value_or(""),
            deadline,
            [this]() -> std::shared_ptr<void> { return shared_from_this(); }),
      live_(live),
      request_(&request) {
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
  const call::Caller caller{&metadata, request_->peer, request_->identity};
  request_ = nullptr;
  call_.Admit(caller, request_bytes, model, std::move(admitted));
}

absl::Status HttpCall::End(const absl::Status& status) {
  const bool first = !call_.ended();
  const absl::Status shown = call_.End(status);
  if (first) live_.Remove(this);
  return shown;
}

Headers HttpCall::ResponseHeaders() const {
  Headers headers = {{"x-request-id", call_.context().request_id}};
  for (auto& [key, value] : call_.Timing()) {
    headers.emplace_back(std::move(key), std::move(value));
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
