#include "operations/operation_method_work.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/cancel_scope.h"
#include "common/proto_duration.h"
#include "common/timer_queue.h"
#include "google/longrunning/operations.pb.h"
#include "google/protobuf/empty.pb.h"
#include "operations/operation_directory.h"

namespace voxgate::operations {
namespace {

namespace lro = google::longrunning;

// How often WaitOperation looks again, and how long it waits when the
// request names no timeout (the call's deadline also bounds it).
constexpr absl::Duration kWaitPoll = absl::Milliseconds(100);
constexpr absl::Duration kDefaultWait = absl::Seconds(60);

template <typename Request, typename Response>
class DirectoryWork : public UnaryWork {
 public:
  explicit DirectoryWork(const UnaryServices& services)
      : directory_(services.directory) {}
  google::protobuf::Message& request() override { return request_; }
  const google::protobuf::Message& response() const override {
    return response_;
  }

 protected:
  OperationDirectory& directory_;
  Request request_;
  Response response_;
};

class GetOperationWork final
    : public DirectoryWork<lro::GetOperationRequest, lro::Operation> {
 public:
  using DirectoryWork::DirectoryWork;
  void Start(const call::CallScope& scope, Done done) override {
    directory_.Get(request_.name(), scope.call.tenant,
                   [this, done = std::move(done)](
                       absl::StatusOr<lro::Operation> operation) {
                     if (operation.ok()) response_ = *std::move(operation);
                     done(operation.status());
                   });
  }
};

class ListOperationsWork final
    : public DirectoryWork<lro::ListOperationsRequest,
                           lro::ListOperationsResponse> {
 public:
  using DirectoryWork::DirectoryWork;
  void Start(const call::CallScope& scope, Done done) override {
    const std::string& name = request_.name();
    if (!name.empty() && name != "operations") {
      return done(absl::InvalidArgumentError(
          absl::StrCat("name: operations live under \"operations\", got \"",
                       name.substr(0, 200), "\"")));
    }
    // Filters: none, or done=true / done=false.
    const std::string filter = request_.filter();
    if (!filter.empty() && filter != "done=true" && filter != "done=false") {
      return done(absl::InvalidArgumentError(
          "filter: supported are \"\", \"done=true\" and \"done=false\""));
    }
    if (request_.page_size() < 0) {
      return done(
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
      return done(absl::InvalidArgumentError(
          "page_token: not one ListOperations returned"));
    }
    directory_.List(
        scope.call.tenant, offset, size,
        [this, offset, size, filter, done = std::move(done)](
            absl::StatusOr<std::vector<lro::Operation>> operations) {
          if (!operations.ok()) return done(operations.status());
          if (static_cast<int>(operations->size()) == size) {
            response_.set_next_page_token(absl::StrCat(offset + size));
          }
          for (lro::Operation& operation : *operations) {
            if (filter == "done=true" && !operation.done()) continue;
            if (filter == "done=false" && operation.done()) continue;
            *response_.add_operations() = std::move(operation);
          }
          done(absl::OkStatus());
        });
  }

 private:
  static constexpr int kDefaultPage = 50;
  static constexpr int kMaxPage = 1000;
};

class CancelOperationWork final
    : public DirectoryWork<lro::CancelOperationRequest,
                           google::protobuf::Empty> {
 public:
  using DirectoryWork::DirectoryWork;
  void Start(const call::CallScope& scope, Done done) override {
    directory_.Cancel(request_.name(), scope.call.tenant, std::move(done));
  }
};

class DeleteOperationWork final
    : public DirectoryWork<lro::DeleteOperationRequest,
                           google::protobuf::Empty> {
 public:
  using DirectoryWork::DirectoryWork;
  void Start(const call::CallScope& scope, Done done) override {
    directory_.Delete(request_.name(), scope.call.tenant, std::move(done));
  }
};

// Looks every kWaitPoll until the operation is done, the request's timeout
// passes (then the latest state is the answer, as the standard says) or the
// call's deadline does. A cancel ends the wait at once.
class WaitOperationWork final
    : public DirectoryWork<lro::WaitOperationRequest, lro::Operation> {
 public:
  explicit WaitOperationWork(const UnaryServices& services)
      : DirectoryWork(services), timers_(services.operations.timers) {}

  void Start(const call::CallScope& scope, Done done) override {
    scope_.emplace(scope);
    done_ = std::move(done);
    absl::Duration timeout = kDefaultWait;
    if (request_.has_timeout()) {
      timeout = ToAbsl(request_.timeout());
      if (timeout < absl::ZeroDuration()) {
        return Finish(
            absl::InvalidArgumentError("timeout: must not be negative"));
      }
    }
    // Answer a little before the call's deadline, so the caller gets the
    // latest state instead of DEADLINE_EXCEEDED.
    until_ = std::min(timers_.clock().Now() + timeout,
                      scope.call.deadline - absl::Milliseconds(200));
    Look();
  }

 private:
  void Look() {
    CancelScope& work = scope_->work;
    const CancelScope::Key key = work.Reserve();
    directory_.Get(request_.name(), scope_->call.tenant,
                   [this, key](absl::StatusOr<lro::Operation> operation) {
                     scope_->work.Done(key);
                     if (!operation.ok()) return Finish(operation.status());
                     if (operation->done() || timers_.clock().Now() >= until_) {
                       response_ = *std::move(operation);
                       return Finish(absl::OkStatus());
                     }
                     LookLater();
                   });
  }

  void LookLater() {
    CancelScope& work = scope_->work;
    const CancelScope::Key key = work.Reserve();
    const TimerQueue::TimerId timer =
        timers_.ScheduleAfter(kWaitPoll, [this, key] {
          scope_->work.Done(key);
          Look();
        });
    work.Attach(key, [this, timer, key] {
      if (timers_.Cancel(timer)) {
        scope_->work.Done(key);
        Finish(absl::CancelledError("the caller cancelled the call"));
      }
    });
  }

  void Finish(absl::Status status) {
    Done done = std::move(done_);
    done(std::move(status));
  }

  TimerQueue& timers_;
  std::optional<call::CallScope> scope_;
  Done done_;
  absl::Time until_;
};

}  // namespace

std::unique_ptr<UnaryWork> MakeGetOperationWork(const UnaryServices& services) {
  return std::make_unique<GetOperationWork>(services);
}
std::unique_ptr<UnaryWork> MakeListOperationsWork(
    const UnaryServices& services) {
  return std::make_unique<ListOperationsWork>(services);
}
std::unique_ptr<UnaryWork> MakeWaitOperationWork(
    const UnaryServices& services) {
  return std::make_unique<WaitOperationWork>(services);
}
std::unique_ptr<UnaryWork> MakeCancelOperationWork(
    const UnaryServices& services) {
  return std::make_unique<CancelOperationWork>(services);
}
std::unique_ptr<UnaryWork> MakeDeleteOperationWork(
    const UnaryServices& services) {
  return std::make_unique<DeleteOperationWork>(services);
}

}  // namespace voxgate::operations
