#ifndef VOXGATE_HTTP_FRONT_DOOR_GUARDED_H_
#define VOXGATE_HTTP_FRONT_DOOR_GUARDED_H_

// HttpFrontDoor::Guarded, for the files of the front door's routes.

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "http/front_door.h"
#include "http/handler_boundary.h"

namespace voxgate::http {

template <class Answer>
auto HttpFrontDoor::Guarded(std::shared_ptr<HttpExchange> exchange,
                            std::shared_ptr<HttpCall> call, Answer answer) {
  return [this, exchange = std::move(exchange), call = std::move(call),
          answer = std::move(answer)](auto&&... args) mutable {
    internal::RunHandlerCode(
        *this,
        absl::StrCat(exchange->request().method, " ", exchange->request().path),
        [&] { answer(std::forward<decltype(args)>(args)...); },
        [&] {
          (void)call->End(
              absl::InternalError("the gateway failed on this request"));
          exchange->Abort();
        });
  };
}

}  // namespace voxgate::http

#endif  // VOXGATE_HTTP_FRONT_DOOR_GUARDED_H_
