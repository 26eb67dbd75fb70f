#ifndef VOXGATE_TESTS_RPC_RPC_TEST_FIXTURE_H_
#define VOXGATE_TESTS_RPC_RPC_TEST_FIXTURE_H_

// One voxgate process per test, in front of two fake upstreams (an audio
// server and a text server), with a real gRPC client over loopback. Each test
// gets its own gateway and fakes, so no script, request log or gauge carries
// over from another test.

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "tests/fake_upstream/fake_upstream.h"
#include "tests/gateway_process.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::testing {

class RpcTest : public ::testing::Test {
 protected:
  void SetUp() override;

  static v1::ChatRequest Hello(const std::string& text = "hello");
  static std::string Trailer(const grpc::ClientContext& context,
                             const std::string& key);
  // Whether the gateway's voxgate_streams_active gauge reaches `count`.
  bool StreamsActiveBecomes(int count) const;

  std::unique_ptr<FakeUpstream> audio_;  // whisper and voxtral pools
  std::unique_ptr<FakeUpstream> text_;   // the llm pool
  std::unique_ptr<GatewayProcess> gateway_;
  std::unique_ptr<v1::VoxgateService::Stub> stub_;
};

// A long recording: sentences with pauses, repeated to `minutes`.
std::string LongRecording(double minutes);

}  // namespace voxgate::testing

#endif  // VOXGATE_TESTS_RPC_RPC_TEST_FIXTURE_H_
