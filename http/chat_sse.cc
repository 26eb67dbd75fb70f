#include "http/chat_sse.h"

#include "absl/time/clock.h"
#include "common/json_limits.h"
#include "http/http_errors.h"
#include "http/openai_json.h"

namespace voxgate::http {
namespace {

std::string Event(const nlohmann::json& data) {
  return "data: " + DumpJson(data) + "\n\n";
}

}  // namespace

ChatSse::ChatSse(std::shared_ptr<HttpExchange> exchange,
                 std::shared_ptr<HttpCall> call, bool include_usage,
                 const operations::OperationServices& operations)
    : exchange_(std::move(exchange)),
      call_(std::move(call)),
      include_usage_(include_usage),
      created_(absl::ToUnixSeconds(absl::Now())),
      operation_(std::make_shared<operations::ChatStreamOperation>(
          operations, call_->scope(),
          static_cast<operations::ChatStreamOutput&>(*this))),
      answer_(exchange_, "text/event-stream") {}

void ChatSse::Start(const v1::ChatRequest& request) {
  // The operation holds the call, and this handler, until it ends.
  operation_->Start(request, shared_from_this());
}

void ChatSse::Write(v1::ChatChunk chunk, bool first, bool last) {
  const std::string& id = call_->context().request_id;
  std::string events;
  {
    absl::MutexLock lock(&mu_);
    if (!chunk.model().empty()) model_ = chunk.model();
    events = Event(ChatChunkJson(chunk, id, model_, created_, first));
    if (last && include_usage_) {
      events += Event(UsageChunkJson(chunk.usage(), id, model_, created_));
    }
  }
  Send(std::move(events), /*then_close=*/false);
}

void ChatSse::End(absl::Status status, bool sent_any) {
  if (!status.ok() && !sent_any) return Refuse(std::move(status));
  const absl::Status shown = call_->End(status);
  // The head is out: OpenAI-style streams report a late error as an event.
  Send(shown.ok() ? "data: [DONE]\n\n"
                  : "data: " + ErrorResponse(shown).body + "\n\n",
       /*then_close=*/true);
}

void ChatSse::Send(std::string events, bool then_close) {
  answer_.Send(
      std::move(events), then_close,
      [this] {
        Headers headers = call_->ResponseHeaders();
        headers.emplace_back("cache-control", "no-cache");
        return headers;
      },
      [self = shared_from_this(), then_close](bool ok) {
        if (!then_close) self->operation_->Written(ok);
      });
}

void ChatSse::Refuse(absl::Status status) {
  const absl::Status shown = call_->End(status);
  HttpResponse response = ErrorResponse(shown);
  for (auto& header : call_->ResponseHeaders()) {
    response.headers.push_back(std::move(header));
  }
  exchange_->Respond(std::move(response));
}

}  // namespace voxgate::http
