#include "upstream/curl_loop.h"

#include "absl/time/clock.h"

namespace voxgate::upstream::curl {

void LoopCore::RunCommands() {
  std::deque<std::pair<Command, std::shared_ptr<CurlTransfer>>> commands;
  {
    absl::MutexLock lock(&mu_);
    commands.swap(commands_);
  }
  for (auto& [command, transfer] : commands) {
    switch (command) {
      case Command::kStart: {
        absl::Status configured = transfer->Configure(TakeEasy());
        if (!configured.ok()) {
          transfer->Finish(configured);
          active_.fetch_sub(1, std::memory_order_relaxed);
          break;
        }
        running_[transfer->easy()] = transfer;
        curl_multi_add_handle(multi_.get(), transfer->easy());
        break;
      }
      case Command::kCancel:
        if (transfer->easy() != nullptr && running_.count(transfer->easy())) {
          Complete(
              transfer->easy(),
              absl::CancelledError("upstream request cancelled by the caller"));
        }
        break;
      case Command::kResume:
        if (transfer->easy() != nullptr && running_.count(transfer->easy()) &&
            transfer->paused()) {
          transfer->Unpause();
          transfer->Touch();
        }
        break;
    }
  }
}

void LoopCore::Complete(CURL* easy, absl::Status status) {
  auto it = running_.find(easy);
  if (it == running_.end()) return;
  std::shared_ptr<CurlTransfer> transfer = std::move(it->second);
  running_.erase(it);
  // Removing the handle closes a connection mid-transfer; a finished one stays
  // cached for reuse.
  curl_multi_remove_handle(multi_.get(), easy);
  active_.fetch_sub(1, std::memory_order_relaxed);
  RecycleEasy(transfer->ReleaseEasy());
  transfer->Finish(std::move(status));
}

void LoopCore::FailStalled() {
  const absl::Time now = absl::Now();
  std::vector<std::pair<CURL*, absl::Status>> stalled;
  for (const auto& [easy, transfer] : running_) {
    absl::Status status = transfer->Stalled(now);
    if (!status.ok()) stalled.emplace_back(easy, std::move(status));
  }
  for (auto& [easy, status] : stalled) Complete(easy, std::move(status));
}

void LoopCore::Run() {
  loop_thread_.store(std::this_thread::get_id());
  absl::Time next_stall_check = absl::Now();
  while (!stopping_.load()) {
    RunCommands();
    if (absl::Now() >= next_stall_check) {
      FailStalled();
      next_stall_check = absl::Now() + kStallCheckInterval;
    }
    int still_running = 0;
    curl_multi_perform(multi_.get(), &still_running);
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_.get(), &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      auto it = running_.find(easy);
      if (it == running_.end()) continue;
      Complete(easy, it->second->MapResult(message->data.result));
    }
    // Commands posted by the callbacks above did not wake us: look again at
    // once. Otherwise wake often enough to notice stalls; curl wakes earlier
    // for its own timers.
    curl_multi_poll(
        multi_.get(), nullptr, 0,
        HasCommands()
            ? 0
            : static_cast<int>(absl::ToInt64Milliseconds(kStallCheckInterval)),
        nullptr);
  }
  // Shutting down: every transfer still running ends as cancelled.
  RunCommands();
  while (!running_.empty()) {
    Complete(running_.begin()->first,
             absl::CancelledError("HTTP client shutting down"));
  }
  for (CURL* easy : idle_easy_) curl_easy_cleanup(easy);
  idle_easy_.clear();
}

}  // namespace voxgate::upstream::curl
