#include "upstream/openai_protocol.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "upstream/openai_json_fields.h"

namespace voxgate::upstream {

using openai_fields::Json;
using openai_fields::NotA;

HttpRequest ModelsHttpRequest(const std::string& base_url) {
  HttpRequest http;
  http.method = "GET";
  http.url = absl::StrCat(base_url, "/models");
  return http;
}

absl::StatusOr<std::vector<std::string>> ParseModelList(
    absl::string_view body) {
  const Json json = Json::parse(body.begin(), body.end(), nullptr, false);
  if (!json.is_object() || !json.contains("data") || !json["data"].is_array()) {
    return NotA("an OpenAI model list", body);
  }
  std::vector<std::string> ids;
  for (const Json& model : json["data"]) {
    if (model.is_object() && model.contains("id") && model["id"].is_string()) {
      ids.push_back(model["id"].get<std::string>());
    }
  }
  return ids;
}

}  // namespace voxgate::upstream
