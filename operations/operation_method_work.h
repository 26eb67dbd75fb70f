#ifndef VOXGATE_OPERATIONS_OPERATION_METHOD_WORK_H_
#define VOXGATE_OPERATIONS_OPERATION_METHOD_WORK_H_

// google.longrunning.Operations for BatchTranscribe's operations, as unary
// work for every door (unary_methods.h): Get, List, Wait, Cancel and Delete,
// each scoped to the calling tenant.

#include <memory>

#include "operations/unary_methods.h"

namespace voxgate::operations {

std::unique_ptr<UnaryWork> MakeGetOperationWork(const UnaryServices& services);
std::unique_ptr<UnaryWork> MakeListOperationsWork(
    const UnaryServices& services);
std::unique_ptr<UnaryWork> MakeWaitOperationWork(const UnaryServices& services);
std::unique_ptr<UnaryWork> MakeCancelOperationWork(
    const UnaryServices& services);
std::unique_ptr<UnaryWork> MakeDeleteOperationWork(
    const UnaryServices& services);

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_OPERATION_METHOD_WORK_H_
