#include "tests/grpc_probes.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace voxgate::testing {
namespace {

using grpc::reflection::v1alpha::ServerReflection;
using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

std::unique_ptr<grpc::ClientContext> ContextWithDeadline() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(10));
  return context;
}

}  // namespace

absl::StatusOr<std::string> CheckHealth(grpc::Channel& channel,
                                        const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  auto context = ContextWithDeadline();
  grpc::Status status = stub->Check(context.get(), request, &response);
  if (!status.ok()) return FromGrpc(status);
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
      response.status());
}

absl::StatusOr<std::vector<ReflectedService>> ListServicesByReflection(
    grpc::Channel& channel) {
  auto stub = ServerReflection::NewStub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  auto context = ContextWithDeadline();
  auto stream = stub->ServerReflectionInfo(context.get());

  ServerReflectionRequest list;
  list.set_list_services("*");
  ServerReflectionResponse response;
  if (!stream->Write(list) || !stream->Read(&response)) {
    return FromGrpc(stream->Finish());
  }
  std::vector<ReflectedService> services;
  for (const auto& service : response.list_services_response().service()) {
    services.push_back({service.name(), {}});
  }

  // Collect every file the server sends for the services, then resolve lazily.
  google::protobuf::SimpleDescriptorDatabase database;
  std::set<std::string> files;
  for (const ReflectedService& service : services) {
    ServerReflectionRequest request;
    request.set_file_containing_symbol(service.name);
    if (!stream->Write(request) || !stream->Read(&response)) {
      return FromGrpc(stream->Finish());
    }
    if (response.has_error_response()) {
      return absl::NotFoundError(absl::StrCat(
          service.name, ": ", response.error_response().error_message()));
    }
    for (const std::string& bytes :
         response.file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto file;
      file.ParseFromString(bytes);
      if (files.insert(file.name()).second) database.Add(file);
    }
  }
  google::protobuf::DescriptorPool pool(&database);
  for (ReflectedService& service : services) {
    const auto* descriptor = pool.FindServiceByName(service.name);
    if (descriptor == nullptr) {
      return absl::NotFoundError(
          absl::StrCat(service.name, ": descriptor did not resolve"));
    }
    for (int i = 0; i < descriptor->method_count(); ++i) {
      service.methods.push_back(descriptor->method(i)->name());
    }
  }
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  if (!status.ok()) return FromGrpc(status);
  return services;
}

}  // namespace voxgate::testing
