#include "http/rpc_wire.h"

#include "absl/strings/escaping.h"
#include "common/retry_info.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "voxgate/v1/chat.pb.h"

namespace voxgate::http {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

v1::ChatRequest Hello() {
  v1::ChatRequest request;
  request.set_model("llama3");
  auto* message = request.add_messages();
  message->set_role(v1::ROLE_USER);
  message->add_content()->set_text("hi");
  return request;
}

std::string Envelope(char flags, const std::string& data) {
  std::string out(1, flags);
  const uint32_t size = data.size();
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(char(size >> shift));
  return out + data;
}

TEST(RpcWireTest, ContentTypesPickTheProtocolAndCodec) {
  EXPECT_EQ(RpcWireFor("application/json; charset=utf-8")->protocol,
            RpcProtocol::kConnectUnary);
  EXPECT_TRUE(RpcWireFor("application/json")->json);
  EXPECT_FALSE(RpcWireFor("application/proto")->json);
  EXPECT_EQ(RpcWireFor("application/connect+json")->protocol,
            RpcProtocol::kConnectStream);
  EXPECT_EQ(RpcWireFor("application/grpc-web+proto")->protocol,
            RpcProtocol::kGrpcWeb);
  EXPECT_EQ(RpcWireFor("application/grpc-web-text")->protocol,
            RpcProtocol::kGrpcWebText);
  EXPECT_THAT(
      RpcWireFor("text/plain").status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("content-type")));
}

TEST(RpcWireTest, AConnectJsonBodyUsesTheProtoJsonMapping) {
  RpcWire wire = *RpcWireFor("application/json");
  v1::ChatRequest request;
  ASSERT_THAT(ParseRpcRequest(wire,
                              R"({"model": "llama3", "messages": [{"role":
                              "ROLE_USER", "content": [{"text": "hi"}]}],
                              "unknownField": 1})",
                              request),
              IsOk());
  EXPECT_EQ(request.messages(0).content(0).text(), "hi");
  const nlohmann::json out =
      nlohmann::json::parse(RpcMessageBytes(wire, Hello()));
  EXPECT_EQ(out["messages"][0]["role"], "ROLE_USER");
  EXPECT_THAT(ParseRpcRequest(wire, "{not json", request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("voxgate.v1.ChatRequest")));
}

TEST(RpcWireTest, GrpcWebEnvelopesAndTextBase64RoundTrip) {
  RpcWire binary = *RpcWireFor("application/grpc-web+proto");
  const std::string framed = RpcMessageBytes(binary, Hello());
  EXPECT_EQ(framed, Envelope(0, Hello().SerializeAsString()));
  v1::ChatRequest back;
  ASSERT_THAT(ParseRpcRequest(binary, framed, back), IsOk());
  EXPECT_EQ(back.model(), "llama3");

  RpcWire text = *RpcWireFor("application/grpc-web-text");
  // Two padded chunks, as a client may send them.
  const std::string body = absl::Base64Escape(framed.substr(0, 4)) +
                           absl::Base64Escape(framed.substr(4));
  ASSERT_THAT(ParseRpcRequest(text, body, back), IsOk());
  EXPECT_EQ(back.messages(0).content(0).text(), "hi");
}

TEST(RpcWireTest, ABadEnvelopeNamesWhatIsWrong) {
  RpcWire wire = *RpcWireFor("application/connect+proto");
  v1::ChatRequest request;
  EXPECT_THAT(
      ParseRpcRequest(wire, "abc", request),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("enveloped")));
  EXPECT_THAT(
      ParseRpcRequest(wire, Envelope(0, "xx") + "extra", request),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exactly one")));
  EXPECT_THAT(
      ParseRpcRequest(wire, Envelope(1, "xx"), request),
      StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("compressed")));
}

TEST(RpcWireTest, ConnectErrorsCarryTheCodeNameAndRetryInfo) {
  const absl::Status limited = WithRetryDelay(
      absl::ResourceExhaustedError("over the rate limit"), absl::Seconds(3));
  EXPECT_EQ(ConnectHttpStatus(limited.code()), 429);
  EXPECT_EQ(ConnectHttpStatus(absl::StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(ConnectHttpStatus(absl::StatusCode::kDeadlineExceeded), 504);
  const nlohmann::json error = nlohmann::json::parse(ConnectErrorJson(limited));
  EXPECT_EQ(error["code"], "resource_exhausted");
  EXPECT_EQ(error["message"], "over the rate limit");
  ASSERT_EQ(error["details"].size(), 1u);
  EXPECT_EQ(error["details"][0]["type"], "google.rpc.RetryInfo");
  EXPECT_FALSE(error["details"][0]["value"].get<std::string>().empty());
}

TEST(RpcWireTest, StreamsEndWithTheProtocolsOwnEndMessage) {
  const RpcWire connect = *RpcWireFor("application/connect+json");
  const std::string ok = RpcEndBytes(connect, absl::OkStatus());
  EXPECT_EQ(ok, Envelope(2, "{}"));
  const std::string failed =
      RpcEndBytes(connect, absl::NotFoundError("no such model"));
  EXPECT_EQ(failed[0], 2);
  EXPECT_THAT(failed, HasSubstr(R"("code":"not_found")"));

  const RpcWire web = *RpcWireFor("application/grpc-web+proto");
  const std::string trailers =
      RpcEndBytes(web, absl::InvalidArgumentError("model: 100% wrong"));
  EXPECT_EQ(static_cast<uint8_t>(trailers[0]), 0x80);
  EXPECT_THAT(trailers, HasSubstr("grpc-status:3\r\n"));
  EXPECT_THAT(trailers, HasSubstr("grpc-message:model: 100%25 wrong\r\n"));
}

TEST(RpcWireTest, TimeoutsComeFromEachProtocolsHeader) {
  HttpRequest request;
  request.headers = {{"connect-timeout-ms", "1500"}, {"grpc-timeout", "2S"}};
  EXPECT_EQ(*RpcTimeout(*RpcWireFor("application/json"), request),
            absl::Milliseconds(1500));
  EXPECT_EQ(*RpcTimeout(*RpcWireFor("application/grpc-web"), request),
            absl::Seconds(2));
  request.headers = {{"connect-timeout-ms", "soon"}};
  EXPECT_THAT(RpcTimeout(*RpcWireFor("application/json"), request).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("connect-timeout-ms")));
  request.headers = {};
  EXPECT_EQ(*RpcTimeout(*RpcWireFor("application/json"), request),
            absl::InfiniteDuration());
}

TEST(RpcWireTest, AConnectGetCarriesTheMessageInTheQuery) {
  RpcWire wire;
  v1::ChatRequest request;
  ASSERT_THAT(
      ParseConnectGet(
          "connect=v1&encoding=json&message=%7B%22model%22%3A%22m%22%7D", wire,
          request),
      IsOk());
  EXPECT_EQ(request.model(), "m");
  EXPECT_TRUE(wire.json);
  std::string encoded;
  absl::WebSafeBase64Escape(Hello().SerializeAsString(), &encoded);
  ASSERT_THAT(ParseConnectGet("encoding=proto&base64=1&message=" + encoded,
                              wire, request),
              IsOk());
  EXPECT_EQ(request.model(), "llama3");
  EXPECT_THAT(
      ParseConnectGet("message=%7B%7D", wire, request),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("encoding")));
}

}  // namespace
}  // namespace voxgate::http
