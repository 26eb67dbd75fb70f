#include "common/retry_info.h"

#include <cmath>

#include "google/rpc/error_details.pb.h"

namespace voxgate {
namespace {

constexpr char kTenantUrl[] = "voxgate/tenant";

}  // namespace

absl::Status WithRetryDelay(absl::Status status, absl::Duration delay) {
  google::rpc::RetryInfo info;
  const int64_t nanos = absl::ToInt64Nanoseconds(delay);
  info.mutable_retry_delay()->set_seconds(nanos / 1000000000);
  info.mutable_retry_delay()->set_nanos(
      static_cast<int32_t>(nanos % 1000000000));
  status.SetPayload(kRetryInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

std::optional<absl::Duration> RetryDelay(const absl::Status& status) {
  const auto payload = status.GetPayload(kRetryInfoTypeUrl);
  if (!payload.has_value()) return std::nullopt;
  google::rpc::RetryInfo info;
  if (!info.ParseFromString(std::string(*payload))) return std::nullopt;
  return absl::Seconds(info.retry_delay().seconds()) +
         absl::Nanoseconds(info.retry_delay().nanos());
}

int64_t RetryAfterSeconds(absl::Duration delay) {
  return std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(delay))));
}

absl::Status WithTenant(absl::Status status, absl::string_view tenant) {
  status.SetPayload(kTenantUrl, absl::Cord(tenant));
  return status;
}

std::string TenantOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kTenantUrl);
  return payload.has_value() ? std::string(*payload) : "";
}

absl::Status WithMessage(const absl::Status& status,
                         absl::string_view message) {
  absl::Status copy(status.code(), message);
  status.ForEachPayload(
      [&copy](absl::string_view url, const absl::Cord& value) {
        copy.SetPayload(url, value);
      });
  return copy;
}

}  // namespace voxgate
