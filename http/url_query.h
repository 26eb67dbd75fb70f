#ifndef VOXGATE_HTTP_URL_QUERY_H_
#define VOXGATE_HTTP_URL_QUERY_H_

// A URL's query string, decoded by Boost.URL.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace voxgate::http {

class QueryParams {
 public:
  // The first value of `name`, percent-decoded ('+' as a space).
  std::optional<std::string> Get(absl::string_view name) const;

 private:
  friend absl::StatusOr<QueryParams> ParseQuery(absl::string_view query);
  std::vector<std::pair<std::string, std::string>> params_;
};

// INVALID_ARGUMENT when `query` (after '?', undecoded) is malformed.
absl::StatusOr<QueryParams> ParseQuery(absl::string_view query);

}  // namespace voxgate::http

#endif  // VOXGATE_HTTP_URL_QUERY_H_
