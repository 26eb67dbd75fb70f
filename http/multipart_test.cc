#include "http/multipart.h"

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate::http {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

constexpr char kType[] = "multipart/form-data; boundary=XyZ";

std::string Body() {
  using namespace std::string_literals;  // the file part holds a NUL byte
  return "--XyZ\r\n"
         "Content-Disposition: form-data; name=\"model\"\r\n\r\n"
         "whisper-1\r\n"
         "--XyZ\r\n"
         "Content-Disposition: form-data; name=\"file\"; "
         "filename=\"a \\\"b\\\".wav\"\r\n"
         "Content-Type: audio/wav\r\n\r\n"
         "RIFF\r\n--Xy\0data\r\n"
         "--XyZ--\r\n"s;
}

TEST(MultipartTest, SplitsPartsWithNamesFilenamesAndBinaryContent) {
  const std::string body = Body();
  auto parts = ParseFormData(kType, body);
  ASSERT_THAT(parts, IsOk());
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "model");
  EXPECT_EQ(body.substr((*parts)[0].offset, (*parts)[0].size), "whisper-1");
  EXPECT_EQ((*parts)[1].name, "file");
  EXPECT_EQ((*parts)[1].filename, "a \"b\".wav");
  EXPECT_EQ((*parts)[1].content_type, "audio/wav");
  EXPECT_EQ(body.substr((*parts)[1].offset, (*parts)[1].size),
            std::string("RIFF\r\n--Xy\0data", 15));
}

TEST(MultipartTest, KeepOnlyLeavesThePartsBytesInPlace) {
  std::string body = Body();
  auto parts = ParseFormData(kType, body);
  ASSERT_THAT(parts, IsOk());
  const char* before = body.data();
  KeepOnly((*parts)[1], body);
  EXPECT_EQ(body, std::string("RIFF\r\n--Xy\0data", 15));
  EXPECT_EQ(body.data(), before);  // same buffer, no copy
}

TEST(MultipartTest, RefusesABodyWithoutTheClosingBoundary) {
  std::string body = Body();
  body.resize(body.size() - 9);
  EXPECT_THAT(ParseFormData(kType, body),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("closing boundary")));
}

TEST(MultipartTest, RefusesAContentTypeWithoutBoundary) {
  EXPECT_THAT(
      ParseFormData("multipart/form-data", Body()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no boundary")));
  EXPECT_THAT(ParseFormData("application/json", "{}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("multipart/form-data")));
}

TEST(MultipartTest, RefusesAPartWithoutName) {
  const std::string body =
      "--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--\r\n";
  EXPECT_THAT(ParseFormData(kType, body),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Content-Disposition with a name")));
}

}  // namespace
}  // namespace voxgate::http
