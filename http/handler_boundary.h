#ifndef VOXGATE_HTTP_HANDLER_BOUNDARY_H_
#define VOXGATE_HTTP_HANDLER_BOUNDARY_H_

// The last-resort boundary between the HTTP server's I/O threads and handler
// code: an exception that escapes a handler (a library throwing on input
// nobody foresaw) must not end the process. Handlers read caller input
// through typed accessors and never throw by design; this is what remains.

#include <exception>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "http/http_types.h"

namespace voxgate::http::internal {

// Runs `code()`. If an exception escapes it, tells the handler (which logs
// and counts it under `route`) and runs `recover()` (answer 500, close the
// socket with 1011); never throws.
template <class Code, class Recover>
void RunHandlerCode(HttpHandler& handler, const std::string& route,
                    Code&& code, Recover&& recover) noexcept {
  std::string what;
  try {
    std::forward<Code>(code)();
    return;
  } catch (const std::exception& error) {
    what = error.what();
  } catch (...) {
    what = "an exception of unknown type";
  }
  try {
    handler.OnEscapedException(route, what);
    std::forward<Recover>(recover)();
  } catch (...) {
    // Reporting failed too (out of memory): the connection is dropped by
    // its owner; the process goes on.
  }
}

}  // namespace voxgate::http::internal

#endif  // VOXGATE_HTTP_HANDLER_BOUNDARY_H_
