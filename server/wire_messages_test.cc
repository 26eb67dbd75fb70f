#include "server/wire_messages.h"

#include <string>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "voxgate/v1/chat.pb.h"

namespace voxgate::server {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

grpc::ByteBuffer Bytes(const std::string& wire) {
  grpc::Slice slice(wire);
  return grpc::ByteBuffer(&slice, 1);
}

TEST(WireMessagesTest, ManyEmptyRepeatedMessagesAreRefusedBeforeParsing) {
  // messages (field 2) holding content parts (field 2 of ChatMessage): each
  // empty part is 2 bytes on the wire and a whole object once parsed.
  std::string message;
  for (int i = 0; i < 300000; ++i) message += std::string("\x12\x00", 2);
  std::string wire = "\x12";
  // The varint length of `message`.
  for (std::size_t length = message.size(); ; length >>= 7) {
    const char byte = static_cast<char>(length & 0x7f);
    if (length < 0x80) {
      wire += byte;
      break;
    }
    wire += static_cast<char>(byte | 0x80);
  }
  wire += message;
  v1::ChatRequest request;
  EXPECT_THAT(ParseMessage(Bytes(wire), request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 200000 fields and repeated "
                                 "elements in one voxgate.v1.ChatRequest")));
  EXPECT_EQ(request.messages_size(), 0);
}

TEST(WireMessagesTest, AnOrdinaryRequestParses) {
  v1::ChatRequest sent;
  sent.set_model("m");
  for (int i = 0; i < 1000; ++i) {
    sent.add_messages()->add_content()->set_text("hello");
  }
  v1::ChatRequest request;
  ASSERT_THAT(ParseMessage(Bytes(sent.SerializeAsString()), request), IsOk());
  EXPECT_EQ(request.messages_size(), 1000);
  EXPECT_THAT(ParseMessage(Bytes("\x12\x05\x12"), request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a valid voxgate.v1.ChatRequest")));
}

}  // namespace
}  // namespace voxgate::server
