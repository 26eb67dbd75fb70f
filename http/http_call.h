#ifndef VOXGATE_HTTP_HTTP_CALL_H_
#define VOXGATE_HTTP_HTTP_CALL_H_

#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "call/admission.h"
#include "call/call.h"
#include "call/call_scope.h"
#include "common/cancel_scope.h"
#include "http/http_types.h"

namespace voxgate::http {

class LiveCalls;

// The request's headers as admission checks read gRPC metadata.
class HeaderMetadata final : public call::CallerMetadata {
 public:
  explicit HeaderMetadata(const HttpRequest& request) : request_(request) {}
  std::optional<absl::string_view> Find(absl::string_view key) const override;

 private:
  const HttpRequest& request_;
};

// One HTTP request or WebSocket as a gateway call: the same context (request
// id from x-request-id, deadline), admission (headers are the metadata
// checks read), cancellation and end (its one log line and metrics) as a
// gRPC call, with the same method names. Owned by shared pointers held by
// the work it runs; thread-safe.
class HttpCall : public std::enable_shared_from_this<HttpCall> {
 public:
  // `deadline` is the caller's (Connect's connect-timeout-ms, gRPC-Web's
  // grpc-timeout); the far future when it set none: the class's default.
  HttpCall(const HttpRequest& request, const call::Method& method,
           const call::CallServices& services, LiveCalls& live,
           absl::Time deadline = absl::InfiniteFuture());
  ~HttpCall();
  HttpCall(const HttpCall&) = delete;
  HttpCall& operator=(const HttpCall&) = delete;

  // Runs admission (call::Call::Admit with the request's headers, peer and
  // identity); `admitted` runs exactly once, with OK (start the work) or the
  // refusal (draining, limits, checks, a cancel while waiting).
  void Admit(int64_t request_bytes, std::function<void(absl::Status)> admitted,
             std::optional<absl::string_view> model = std::nullopt);

  call::Call& gateway_call() { return call_; }
  call::CallContext& context() { return call_.context(); }
  call::CallScope scope() { return call_.scope(); }
  // The scope the call's work is cancelled through.
  CancelScope& work() { return call_.work(); }
  // Cancels the call's work (the client went away, the server stops).
  void Cancel() { call_.Cancel(); }
  bool cancelled() const { return call_.cancelled(); }

  // Ends the call once (call::Call::End). Returns the status as the caller
  // may see it (scrubbed); later calls return the first end's.
  absl::Status End(const absl::Status& status);

  // x-request-id, and after End the voxgate-*-ms timings.
  Headers ResponseHeaders() const;

 private:
  call::Call call_;
  LiveCalls& live_;
  const HttpRequest* request_;  // valid during Admit only
};

// The HTTP calls not ended yet, so a stopping server can let them finish,
// cancel the rest and wait for their end. (What still holds an ended call,
// such as a WebSocket waiting for the client's close reply, goes with the
// server's I/O loop.)
class LiveCalls {
 public:
  void Add(HttpCall* call);
  void Remove(HttpCall* call);
  // Waits until no call is alive or `deadline` passes; returns whether none
  // is.
  bool AwaitNone(absl::Time deadline);
  void CancelAll();

 private:
  absl::Mutex mu_;
  std::set<HttpCall*> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate::http

#endif  // VOXGATE_HTTP_HTTP_CALL_H_
