#include "common/logging.h"

#include <cstdio>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate {
namespace {

std::string Capture(LogLevel min, LogLevel level,
                    const Logger::Fields& fields) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  {
    Logger logger(min, out);
    logger.Log(level, "call done", fields);
  }
  std::fclose(out);
  std::string text(buffer, size);
  std::free(buffer);
  return text;
}

TEST(LoggerTest, WritesOneJsonObjectPerLine) {
  const std::string line = Capture(LogLevel::kInfo, LogLevel::kWarning,
                                   {{"request_id", "r-1"}, {"code", "OK"}});
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto json = nlohmann::json::parse(line);
  EXPECT_EQ(json["level"], "warning");
  EXPECT_EQ(json["msg"], "call done");
  EXPECT_EQ(json["request_id"], "r-1");
  EXPECT_THAT(json["ts"].get<std::string>(), ::testing::EndsWith("Z"));
}

TEST(LoggerTest, DropsLinesBelowTheLevel) {
  EXPECT_EQ(Capture(LogLevel::kWarning, LogLevel::kInfo, {}), "");
}

TEST(LoggerTest, ReplacesInvalidUtf8InsteadOfThrowing) {
  const std::string line = Capture(LogLevel::kInfo, LogLevel::kInfo,
                                   {{"body", std::string("\xff\xfe")}});
  EXPECT_NO_THROW(nlohmann::json::parse(line));
}

}  // namespace
}  // namespace voxgate
