#include "server/operations_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/proto_duration.h"
#include "server/unary_call.h"

namespace voxgate::server {

namespace {

namespace lro = google::longrunning;

// How often WaitOperation looks again, and how long it waits when the
// request names no timeout (the call's deadline also bounds it).
constexpr absl::Duration kWaitPoll = absl::Milliseconds(100);
constexpr absl::Duration kDefaultWait = absl::Seconds(60);

class GetOperationCall final
    : public TypedUnaryCall<lro::GetOperationRequest, lro::Operation> {
 public:
  GetOperationCall(grpc::CallbackServerContext* context,
                   const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
                   const call::CallServices& services,
                   operations::OperationDirectory& directory)
      : TypedUnaryCall(context, request, response, call::kGetOperation,
                       services),
        directory_(directory) {}

 private:
  void Start() override {
    directory_.Get(request_.name(), call_.tenant,
                   [this](absl::StatusOr<lro::Operation> operation) {
                     if (operation.ok()) response_ = *std::move(operation);
                     Complete(operation.status());
                   });
  }
  operations::OperationDirectory& directory_;
};

class ListOperationsCall final
    : public TypedUnaryCall<lro::ListOperationsRequest,
                            lro::ListOperationsResponse> {
 public:
  ListOperationsCall(grpc::CallbackServerContext* context,
                     const grpc::ByteBuffer* request,
                     grpc::ByteBuffer* response,
                     const call::CallServices& services,
                     operations::OperationDirectory& directory)
      : TypedUnaryCall(context, request, response, call::kListOperations,
                       services),
        directory_(directory) {}

 private:
  static constexpr int kDefaultPage = 50;
  static constexpr int kMaxPage = 1000;

  void Start() override {
    const std::string& name = request_.name();
    if (!name.empty() && name != "operations") {
      return Complete(absl::InvalidArgumentError(
          absl::StrCat("name: operations live under \"operations\", got \"",
                       name.substr(0, 200), "\"")));
    }
    // Filters: none, or done=true / done=false.
    const std::string& filter = request_.filter();
    if (!filter.empty() && filter != "done=true" && filter != "done=false") {
      return Complete(absl::InvalidArgumentError(
          "filter: supported are \"\", \"done=true\" and \"done=false\""));
    }
    if (request_.page_size() < 0) {
      return Complete(
          absl::InvalidArgumentError("page_size: must not be negative"));
    }
    const int size = request_.page_size() == 0
                         ? kDefaultPage
                         : std::min(request_.page_size(), kMaxPage);
    int offset = 0;
    // Bounded so that offset + size cannot overflow (the tokens we hand out
    // never come near).
    constexpr int kMaxOffset = 1 << 30;
    if (!request_.page_token().empty() &&
        (!absl::SimpleAtoi(request_.page_token(), &offset) || offset < 0 ||
         offset > kMaxOffset)) {
      return Complete(absl::InvalidArgumentError(
          "page_token: not one ListOperations returned"));
    }
    directory_.List(
        call_.tenant, offset, size,
        [this, offset, size,
         filter](absl::StatusOr<std::vector<lro::Operation>> operations) {
          if (!operations.ok()) return Complete(operations.status());
          if (static_cast<int>(operations->size()) == size) {
            response_.set_next_page_token(absl::StrCat(offset + size));
          }
          for (lro::Operation& operation : *operations) {
            if (filter == "done=true" && !operation.done()) continue;
            if (filter == "done=false" && operation.done()) continue;
            *response_.add_operations() = std::move(operation);
          }
          Complete(absl::OkStatus());
        });
  }
  operations::OperationDirectory& directory_;
};

class CancelOperationCall final
    : public TypedUnaryCall<lro::CancelOperationRequest,
                            google::protobuf::Empty> {
 public:
  CancelOperationCall(grpc::CallbackServerContext* context,
                      const grpc::ByteBuffer* request,
                      grpc::ByteBuffer* response,
                      const call::CallServices& services,
                      operations::OperationDirectory& directory)
      : TypedUnaryCall(context, request, response, call::kCancelOperation,
                       services),
        directory_(directory) {}

 private:
  void Start() override {
    directory_.Cancel(request_.name(), call_.tenant,
                      [this](absl::Status status) { Complete(status); });
  }
  operations::OperationDirectory& directory_;
};

class DeleteOperationCall final
    : public TypedUnaryCall<lro::DeleteOperationRequest,
                            google::protobuf::Empty> {
 public:
  DeleteOperationCall(grpc::CallbackServerContext* context,
                      const grpc::ByteBuffer* request,
                      grpc::ByteBuffer* response,
                      const call::CallServices& services,
                      operations::OperationDirectory& directory)
      : TypedUnaryCall(context, request, response, call::kDeleteOperation,
                       services),
        directory_(directory) {}

 private:
  void Start() override {
    directory_.Delete(request_.name(), call_.tenant,
                      [this](absl::Status status) { Complete(status); });
  }
  operations::OperationDirectory& directory_;
};

// Looks every kWaitPoll until the operation is done, the request's timeout
// passes (then the latest state is the answer, as the standard says) or the
// call's deadline does. A cancel ends the wait at once.
class WaitOperationCall final
    : public TypedUnaryCall<lro::WaitOperationRequest, lro::Operation> {
 public:
  WaitOperationCall(grpc::CallbackServerContext* context,
                    const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
                    const call::CallServices& services,
                    operations::OperationDirectory& directory,
                    TimerQueue& timers)
      : TypedUnaryCall(context, request, response, call::kWaitOperation,
                       services),
        directory_(directory),
        timers_(timers) {}

 private:
  void Start() override {
    absl::Duration timeout = kDefaultWait;
    if (request_.has_timeout()) {
      timeout = ToAbsl(request_.timeout());
      if (timeout < absl::ZeroDuration()) {
        return Complete(
            absl::InvalidArgumentError("timeout: must not be negative"));
      }
    }
    // Answer a little before the call's deadline, so the caller gets the
    // latest state instead of DEADLINE_EXCEEDED.
    until_ = std::min(timers_.clock().Now() + timeout,
                      call_.deadline - absl::Milliseconds(200));
    Look();
  }

  void Look() {
    const CancelScope::Key key = work_.Reserve();
    directory_.Get(request_.name(), call_.tenant,
                   [this, key](absl::StatusOr<lro::Operation> operation) {
                     work_.Done(key);
                     if (!operation.ok()) return Complete(operation.status());
                     if (operation->done() || timers_.clock().Now() >= until_) {
                       response_ = *std::move(operation);
                       return Complete(absl::OkStatus());
                     }
                     LookLater();
                   });
  }

  void LookLater() {
    const CancelScope::Key key = work_.Reserve();
    const TimerQueue::TimerId timer =
        timers_.ScheduleAfter(kWaitPoll, [this, key] {
          work_.Done(key);
          Look();
        });
    work_.Attach(key, [this, timer, key] {
      if (timers_.Cancel(timer)) {
        work_.Done(key);
        Complete(absl::CancelledError("the caller cancelled the call"));
      }
    });
  }

  operations::OperationDirectory& directory_;
  TimerQueue& timers_;
  absl::Time until_;
};

template <typename Call, typename... Args>
grpc::ServerUnaryReactor* Begin(Args&&... args) {
  auto* call = new Call(std::forward<Args>(args)...);
  call->Begin();
  return call;
}

}  // namespace

grpc::ServerUnaryReactor* OperationsServiceImpl::GetOperation(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Begin<GetOperationCall>(context, request, response, services_,
                                 directory_);
}

grpc::ServerUnaryReactor* OperationsServiceImpl::ListOperations(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Begin<ListOperationsCall>(context, request, response, services_,
                                   directory_);
}

grpc::ServerUnaryReactor* OperationsServiceImpl::CancelOperation(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Begin<CancelOperationCall>(context, request, response, services_,
                                    directory_);
}

grpc::ServerUnaryReactor* OperationsServiceImpl::DeleteOperation(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Begin<DeleteOperationCall>(context, request, response, services_,
                                    directory_);
}

grpc::ServerUnaryReactor* OperationsServiceImpl::WaitOperation(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Begin<WaitOperationCall>(context, request, response, services_,
                                  directory_, timers_);
}

}  // namespace voxgate::server
