#include <algorithm>
#include <atomic>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "upstream/openai_protocol.h"
#include "upstream/pool_entry.h"
#include "upstream/upstreams.h"

namespace voxgate::upstream {

void Upstreams::RefreshModels(std::function<void()> done) {
  // Straight to each endpoint, like a health check: not a call, so it takes no
  // pool slot and is not counted as an upstream request. A pool's answer is
  // the union of its endpoints'; a pool none of whose endpoints answered keeps
  // what it reported before.
  struct PoolAnswers {
    absl::Mutex mu;
    std::vector<std::string> ids;
    bool answered = false;
    int remaining = 0;
  };
  struct Gather {
    std::atomic<int> remaining{1};  // this function's share, released last
    std::function<void()> done;
  };
  auto gather = std::make_shared<Gather>();
  gather->done = std::move(done);
  auto finish_one = [gather] {
    if (gather->remaining.fetch_sub(1) == 1 && gather->done) gather->done();
  };
  for (const auto& entry : pools_) {
    if (entry->openai == nullptr || entry->config.endpoints().empty()) continue;
    auto answers = std::make_shared<PoolAnswers>();
    answers->remaining = entry->config.endpoints_size();
    for (const auto& endpoint : entry->config.endpoints()) {
      gather->remaining.fetch_add(1);
      HttpRequest request = ModelsHttpRequest(endpoint.url());
      request.headers = entry->headers;
      request.headers.emplace_back("x-request-id", kModelRefreshRequestId);
      request.deadline = absl::Now() + absl::Seconds(5);
      http_->Fetch(std::move(request), [this, answers, finish_one,
                                        pool = entry->config.name()](
                                           absl::StatusOr<HttpResponse> got) {
        absl::StatusOr<std::vector<std::string>> ids =
            got.ok() && got->status_code == 200
                ? ParseModelList(got->body)
                : absl::StatusOr<std::vector<std::string>>(
                      absl::UnavailableError("no model list"));
        bool last;
        {
          absl::MutexLock lock(&answers->mu);
          if (ids.ok()) {
            answers->answered = true;
            for (std::string& id : *ids) {
              if (std::find(answers->ids.begin(), answers->ids.end(), id) ==
                  answers->ids.end()) {
                answers->ids.push_back(std::move(id));
              }
            }
          }
          last = --answers->remaining == 0;
        }
        if (last && answers->answered) {
          absl::MutexLock lock(&reported_mu_);
          reported_[pool] = answers->ids;
        }
        finish_one();
      });
    }
  }
  finish_one();
}

void Upstreams::ScheduleModelRefresh() {
  absl::MutexLock lock(&refresh_mu_);
  if (stopping_) return;
  refresh_timer_ = timers_->ScheduleAfter(kModelRefreshInterval, [this] {
    {
      absl::MutexLock lock(&refresh_mu_);
      if (stopping_) return;
      RefreshModels();
    }
    ScheduleModelRefresh();
  });
}

std::map<std::string, std::vector<std::string>> Upstreams::ReportedModels()
    const {
  absl::MutexLock lock(&reported_mu_);
  return reported_;
}

}  // namespace voxgate::upstream
