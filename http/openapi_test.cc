// The OpenAPI document served at /openapi.json lists exactly the routes the
// front door serves.

#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/front_door.h"
#include "nlohmann/json.hpp"

namespace voxgate::http {
namespace {

TEST(OpenApiTest, DocumentListsExactlyTheServedRoutes) {
  std::ifstream file("http/static/openapi.json");
  std::ostringstream text;
  text << file.rdbuf();
  const nlohmann::json document = nlohmann::json::parse(text.str());
  std::set<std::pair<std::string, std::string>> documented;
  for (const auto& [path, operations] : document.at("paths").items()) {
    for (const auto& [method, operation] : operations.items()) {
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(c));
      documented.emplace(upper, path);
      EXPECT_TRUE(operation.contains("responses")) << method << " " << path;
    }
  }
  std::set<std::pair<std::string, std::string>> served;
  for (const HttpFrontDoor::Route& route : HttpFrontDoor::Routes()) {
    served.emplace(route.method, route.path);
  }
  EXPECT_EQ(documented, served);
}

}  // namespace
}  // namespace voxgate::http
