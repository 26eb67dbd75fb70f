#include "server/grpc_status.h"

#include "call/status_details.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate::server {
namespace {

TEST(GrpcStatusTest, CodesMapOneToOne) {
  const std::pair<absl::Status, grpc::StatusCode> cases[] = {
      {absl::InvalidArgumentError("a"), grpc::StatusCode::INVALID_ARGUMENT},
      {absl::ResourceExhaustedError("a"), grpc::StatusCode::RESOURCE_EXHAUSTED},
      {absl::UnavailableError("a"), grpc::StatusCode::UNAVAILABLE},
      {absl::DeadlineExceededError("a"), grpc::StatusCode::DEADLINE_EXCEEDED},
      {absl::FailedPreconditionError("a"),
       grpc::StatusCode::FAILED_PRECONDITION},
      {absl::InternalError("a"), grpc::StatusCode::INTERNAL},
      {absl::CancelledError("a"), grpc::StatusCode::CANCELLED},
      {absl::NotFoundError("a"), grpc::StatusCode::NOT_FOUND},
      {absl::UnimplementedError("a"), grpc::StatusCode::UNIMPLEMENTED},
      {absl::OutOfRangeError("a"), grpc::StatusCode::OUT_OF_RANGE},
  };
  for (const auto& [status, code] : cases) {
    EXPECT_EQ(ToGrpcStatus(status).error_code(), code) << status;
    EXPECT_EQ(ToGrpcStatus(status).error_message(), "a");
  }
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(GrpcStatusTest, ScrubsCredentialsButKeepsTheEndpoint) {
  grpc::Status status = ToGrpcStatus(absl::UnavailableError(
      "pool llama: https://user:hunter2@llama:8080/v1 answered 401 to "
      "Authorization: Bearer sk-abc123XYZ and api_key=s3cr3t"));
  EXPECT_EQ(status.error_message(),
            "pool llama: https://[redacted]@llama:8080/v1 answered 401 to "
            "Authorization: Bearer [redacted] and api_key=[redacted]");
}

TEST(GrpcStatusTest, LeavesPlainUrlsAlone) {
  EXPECT_EQ(call::ScrubSecrets("connect to http://10.0.0.1:8000/v1 failed: refused"),
            "connect to http://10.0.0.1:8000/v1 failed: refused");
}

}  // namespace
}  // namespace voxgate::server
