#ifndef VOXGATE_UPSTREAM_TRANSFER_H_
#define VOXGATE_UPSTREAM_TRANSFER_H_

namespace voxgate::upstream {

// A transfer in progress. Thread-safe.
class Transfer {
 public:
  virtual ~Transfer() = default;
  // Aborts the transfer and closes its connection; OnDone(CANCELLED) follows
  // unless it already completed.
  virtual void Cancel() = 0;
  // Resumes a transfer paused by OnData returning false.
  virtual void Resume() = 0;
};

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_TRANSFER_H_
