#ifndef VOXGATE_COMMON_WAITER_QUEUE_H_
#define VOXGATE_COMMON_WAITER_QUEUE_H_

#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/timer_queue.h"

namespace voxgate {

// Callers waiting for a resource (a pool slot, a call slot), first come first
// served, each with a time to give up: the queue that upstream pools and
// admission share. Not thread-safe: the owner's lock guards it, and the owner
// runs the waiters' callbacks after releasing that lock.
template <typename Item>
class WaiterQueue {
 public:
  using Id = uint64_t;

  explicit WaiterQueue(TimerQueue& timers) : timers_(timers) {}

  // Adds a waiter. Unless it leaves the queue first, `on_timeout(id)` runs on
  // the timer thread at `give_up`; it should Take(id) under the owner's lock.
  Id Push(Item item, absl::Time give_up, std::function<void(Id)> on_timeout) {
    const Id id = next_id_++;
    const TimerQueue::TimerId timer = timers_.Schedule(
        give_up, [on_timeout = std::move(on_timeout), id] { on_timeout(id); });
    waiters_.push_back({id, std::move(item), timer});
    return id;
  }

  // Removes the waiter `id` and stops its timer; nullopt when it already left.
  std::optional<Item> Take(Id id) {
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
      if (it->id != id) continue;
      Item item = Leave(it);
      return item;
    }
    return std::nullopt;
  }
  // The longest waiter; the queue must not be empty.
  const Item& front() const { return waiters_.front().item; }
  Item PopFront() { return Leave(waiters_.begin()); }
  std::vector<Item> TakeAll() {
    std::vector<Item> items;
    while (!waiters_.empty()) items.push_back(PopFront());
    return items;
  }

  bool empty() const { return waiters_.empty(); }
  int size() const { return static_cast<int>(waiters_.size()); }

 private:
  struct Waiter {
    Id id;
    Item item;
    TimerQueue::TimerId timer;
  };
  Item Leave(typename std::list<Waiter>::iterator it) {
    timers_.Cancel(it->timer);
    Item item = std::move(it->item);
    waiters_.erase(it);
    return item;
  }

  TimerQueue& timers_;
  Id next_id_ = 1;
  std::list<Waiter> waiters_;
};

}  // namespace voxgate

#endif  // VOXGATE_COMMON_WAITER_QUEUE_H_
