#ifndef VOXGATE_HTTP_STREAMED_ANSWER_H_
#define VOXGATE_HTTP_STREAMED_ANSWER_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "http/http_types.h"

namespace voxgate::http {

// An answer sent in pieces on one exchange (SSE, Connect and gRPC-Web
// streams): the head (200, the content type, and the headers `head` gives,
// asked for once, when the first piece goes), then each piece. The writer
// waits for `written` before it sends the next, so a slow client slows the
// stream instead of filling memory. Thread-safe.
class StreamedAnswer {
 public:
  StreamedAnswer(std::shared_ptr<HttpExchange> exchange,
                 std::string content_type)
      : exchange_(std::move(exchange)),
        content_type_(std::move(content_type)) {}

  // Sends `bytes`, the head first if it has not gone. `written` (may be null)
  // gets whether they were written; with `last`, the response then ends.
  void Send(std::string bytes, bool last, const std::function<Headers()>& head,
            std::function<void(bool)> written) {
    {
      absl::MutexLock lock(&mu_);
      if (!started_) {
        started_ = true;
        exchange_->StartStream(200, content_type_, head());
      }
    }
    exchange_->Write(std::move(bytes), [exchange = exchange_, last,
                                        written = std::move(written)](bool ok) {
      if (last && ok) exchange->EndStream();
      if (written) written(ok);
    });
  }

 private:
  const std::shared_ptr<HttpExchange> exchange_;
  const std::string content_type_;
  absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;  // the head went out
};

}  // namespace voxgate::http

#endif  // VOXGATE_HTTP_STREAMED_ANSWER_H_
