#include "common/logging.h"

#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
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

TEST(LoggerTest, KeepsTheOrderOfLines) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  {
    Logger logger(LogLevel::kInfo, out);
    for (int i = 0; i < 1000; ++i) logger.Info("line", {{"i", i}});
  }
  std::fclose(out);
  std::vector<std::string> lines =
      absl::StrSplit(std::string(buffer, size), '\n', absl::SkipEmpty());
  std::free(buffer);
  ASSERT_EQ(lines.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(nlohmann::json::parse(lines[i])["i"], i);
  }
}

// Callers never wait for the output: with a pipe nobody reads, every Log()
// returns (a blocking logger would hang this test), lines beyond the buffer
// are dropped and counted, and once the reader catches up a warning says how
// many were lost.
TEST(LoggerTest, DropsAndCountsLinesWhenTheOutputStalls) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::FILE* out = fdopen(fds[1], "w");
  ASSERT_NE(out, nullptr);
  constexpr int kLines = 20000;
  uint64_t dropped = 0;
  std::string text;
  std::thread reader;
  {
    Logger::Options options;
    options.max_buffered_bytes = 64 << 10;
    Logger logger(LogLevel::kInfo, out, options);
    for (int i = 0; i < kLines; ++i) logger.Info("line", {{"i", i}});
    dropped = logger.dropped_lines();
    EXPECT_GT(dropped, 0u);
    EXPECT_LT(dropped, static_cast<uint64_t>(kLines));
    // Now read: the writer unblocks, and the destructor writes the rest.
    reader = std::thread([&text, fd = fds[0]] {
      char chunk[65536];
      ssize_t n;
      while ((n = read(fd, chunk, sizeof(chunk))) > 0) text.append(chunk, n);
    });
  }
  std::fclose(out);  // end of file for the reader
  reader.join();
  close(fds[0]);
  std::vector<std::string> lines =
      absl::StrSplit(text, '\n', absl::SkipEmpty());
  uint64_t written = 0;
  uint64_t reported = 0;
  int last_index = -1;
  for (const std::string& line : lines) {
    auto json = nlohmann::json::parse(line);
    if (json["msg"] == "line") {
      ++written;
      EXPECT_GT(json["i"].get<int>(), last_index);  // in order, no repeats
      last_index = json["i"].get<int>();
    } else if (json["msg"] == "log lines dropped") {
      EXPECT_EQ(json["level"], "warning");
      reported += json["count"].get<uint64_t>();
    }
  }
  EXPECT_EQ(reported, dropped);
  EXPECT_EQ(written + dropped, static_cast<uint64_t>(kLines));
}

}  // namespace
}  // namespace voxgate
