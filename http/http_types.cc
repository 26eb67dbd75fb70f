#include "http/http_types.h"

namespace voxgate::http {

std::optional<absl::string_view> HttpRequest::Header(
    absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return absl::string_view(value);
  }
  return std::nullopt;
}

}  // namespace voxgate::http
