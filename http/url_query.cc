#include "http/url_query.h"

#include <boost/url/param.hpp>
#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>

namespace voxgate::http {

std::optional<std::string> QueryParams::Get(absl::string_view name) const {
  for (const auto& [key, value] : params_) {
    if (key == name) return value;
  }
  return std::nullopt;
}

absl::StatusOr<QueryParams> ParseQuery(absl::string_view query) {
  auto parsed = boost::urls::parse_query(
      boost::core::string_view(query.data(), query.size()));
  if (!parsed) {
    return absl::InvalidArgumentError(
        "the query string is not valid percent-encoding");
  }
  QueryParams params;
  const boost::urls::params_view decoded = *parsed;
  for (const boost::urls::param param : decoded) {
    params.params_.emplace_back(param.key, param.value);
  }
  return params;
}

}  // namespace voxgate::http
