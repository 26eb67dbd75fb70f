#include "http/websocket_session.h"

#include <algorithm>
#include <boost/asio/post.hpp>

#include "absl/strings/str_cat.h"
#include "common/json_limits.h"
#include "http/handler_boundary.h"

namespace voxgate::http::internal {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;

template <class Stream>
void WebSocketSession<Stream>::Accept(
    bhttp::request<bhttp::string_body> upgrade) {
  ws_.set_option(
      websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws_.read_message_max(shared_.options.max_websocket_message_bytes);
  ws_.async_accept(upgrade, [self = Self()](beast::error_code ec) {
    if (ec) return;
    RunHandlerCode(
        self->shared_.handler, self->Route(),
        [&] { self->shared_.handler.HandleWebSocket(self); },
        [&] { self->CloseAfterEscape(); });
  });
}

template <class Stream>
void WebSocketSession<Stream>::Read(
    std::function<void(absl::StatusOr<WebSocketMessage>)> on_message) {
  net::post(ws_.get_executor(), [self = Self(),
                                 on_message = std::move(on_message)]() mutable {
    self->read_buffer_.clear();
    self->ws_.async_read(
        self->read_buffer_, [self, handler_code = std::move(on_message)](
                                beast::error_code ec, std::size_t) {
          // Handler code: an exception escaping it closes with 1011.
          const auto on_message =
              [&](absl::StatusOr<WebSocketMessage> message) {
                RunHandlerCode(
                    self->shared_.handler, self->Route(),
                    [&] { handler_code(std::move(message)); },
                    [&] { self->CloseAfterEscape(); });
              };
          if (ec == websocket::error::message_too_big) {
            return on_message(absl::ResourceExhaustedError(absl::StrCat(
                "a WebSocket message is over http.max_websocket_message_"
                "bytes (",
                self->shared_.options.max_websocket_message_bytes, " bytes)")));
          }
          if (ec) {
            return on_message(absl::CancelledError(
                ec == websocket::error::closed
                    ? "the client closed the WebSocket"
                    : "the WebSocket connection failed: " + ec.message()));
          }
          WebSocketMessage message;
          message.text = self->ws_.got_text();
          message.data = beast::buffers_to_string(self->read_buffer_.data());
          on_message(std::move(message));
        });
  });
}

template <class Stream>
std::string WebSocketSession<Stream>::Route() const {
  return absl::StrCat("WebSocket ", request_.path);
}

template <class Stream>
void WebSocketSession<Stream>::CloseAfterEscape() {
  Close(1011, "the gateway failed on this stream; it was logged");
}

template <class Stream>
void WebSocketSession<Stream>::Send(std::string text,
                                    std::function<void(bool)> sent) {
  net::post(ws_.get_executor(), [self = Self(), text = std::move(text),
                                 sent = std::move(sent)]() mutable {
    self->outbox_.push_back({std::move(text), std::move(sent), 0});
    self->Pump();
  });
}

template <class Stream>
void WebSocketSession<Stream>::Close(int code, std::string reason) {
  net::post(ws_.get_executor(),
            [self = Self(), code, reason = std::move(reason)]() mutable {
              // A close reason fits in a control frame (123 bytes) and must
              // be UTF-8, cut at a character's start (it may echo caller
              // bytes).
              reason = ValidUtf8(reason);
              std::size_t cut = std::min<std::size_t>(reason.size(), 120);
              while (cut > 0 && cut < reason.size() &&
                     (static_cast<unsigned char>(reason[cut]) & 0xC0) == 0x80) {
                --cut;
              }
              reason.resize(cut);
              self->outbox_.push_back({std::move(reason), nullptr, code});
              self->Pump();
            });
}

template <class Stream>
void WebSocketSession<Stream>::Pump() {
  if (writing_ || outbox_.empty()) return;
  writing_ = true;
  Outgoing& next = outbox_.front();
  if (next.close_code != 0) {
    ws_.async_close(
        websocket::close_reason(
            static_cast<websocket::close_code>(next.close_code), next.data),
        [self = Self()](beast::error_code) {
          self->writing_ = false;
          for (Outgoing& left : self->outbox_) {
            if (left.sent) {
              RunHandlerCode(
                  self->shared_.handler, self->Route(),
                  [&] { left.sent(false); }, [] {});
            }
          }
          self->outbox_.clear();
        });
    return;
  }
  ws_.text(true);
  ws_.async_write(net::buffer(next.data),
                  [self = Self()](beast::error_code ec, std::size_t) {
                    Outgoing done = std::move(self->outbox_.front());
                    self->outbox_.pop_front();
                    self->writing_ = false;
                    if (done.sent) {
                      RunHandlerCode(
                          self->shared_.handler, self->Route(),
                          [&] { done.sent(!ec); },
                          [&] { self->CloseAfterEscape(); });
                    }
                    self->Pump();
                  });
}

template class WebSocketSession<PlainStream>;
template class WebSocketSession<TlsStream>;

}  // namespace voxgate::http::internal
