#include "operations/chat_operation.h"

#include "absl/time/clock.h"
#include "operations/api_mapping.h"
#include "operations/chat_mapping.h"

namespace voxgate::operations {

void ChatOperation::Start(const v1::ChatRequest& request, Done done) {
  done_ = std::move(done);
  preparation_.Start(request, [this](absl::StatusOr<PreparedChat> prepared) {
    if (!prepared.ok()) return Finish(prepared.status());
    SendUpstream(*std::move(prepared));
  });
}

void ChatOperation::Finish(absl::StatusOr<v1::ChatResponse> result) {
  // The callback may own this operation: run it from the stack.
  Done done = std::move(done_);
  done(std::move(result));
}

void ChatOperation::SendUpstream(PreparedChat prepared) {
  // The answer may end the call before Attach below.
  const std::shared_ptr<void> hold = scope_.hold();
  const absl::Time sent = absl::Now();
  scope_.work.Run([&](std::function<void()> done) {
    return prepared.backend->Complete(
        std::move(prepared.chat), scope_.call.upstream_options(),
        [this, done = std::move(done),
         sent](absl::StatusOr<upstream::ChatCompletion> completion) {
          done();
          scope_.call.BookUpstreamRequest(sent, absl::Now());
          if (!completion.ok()) return Finish(completion.status());
          scope_.call.BookTokens(completion->usage);
          v1::ChatResponse response;
          response.set_content(completion->content);
          response.set_finish_reason(
              FinishReasonFor(completion->finish_reason));
          FillUsage(completion->usage, *response.mutable_usage());
          FillToolCalls(completion->tool_calls, *response.mutable_tool_calls());
          response.set_model(completion->model);
          response.set_request_id(scope_.call.request_id);
          Finish(std::move(response));
        });
  });
}

}  // namespace voxgate::operations
