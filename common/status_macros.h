#ifndef VOXGATE_COMMON_STATUS_MACROS_H_
#define VOXGATE_COMMON_STATUS_MACROS_H_

// The two propagation macros Abseil 20220623 lacks. Nothing else belongs here.

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns from the current function if `expr` is not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status voxgate_status_ = (expr);           \
    if (!voxgate_status_.ok()) return voxgate_status_; \
  } while (false)

#define VOXGATE_CONCAT_INNER_(a, b) a##b
#define VOXGATE_CONCAT_(a, b) VOXGATE_CONCAT_INNER_(a, b)

// `ASSIGN_OR_RETURN(lhs, expr)`: evaluates the StatusOr `expr`, returns its
// status if not OK, else moves its value into `lhs` (which may be a
// declaration).
#define ASSIGN_OR_RETURN(lhs, expr)                                            \
  VOXGATE_ASSIGN_OR_RETURN_IMPL_(VOXGATE_CONCAT_(voxgate_statusor_, __LINE__), \
                                 lhs, expr)

#define VOXGATE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()

#endif  // VOXGATE_COMMON_STATUS_MACROS_H_
