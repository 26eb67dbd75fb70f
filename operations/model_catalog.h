#ifndef VOXGATE_OPERATIONS_MODEL_CATALOG_H_
#define VOXGATE_OPERATIONS_MODEL_CATALOG_H_

#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "upstream/routing.h"
#include "voxgate/v1/models.pb.h"

namespace voxgate::operations {

// The models the configuration serves, with the capabilities and limits their
// pools' protocols honestly offer. A pool that lists no models appears under
// its own name. Pure function of the config; thread-compatible.
v1::ListModelsResponse BuildModelCatalog(const Config& config);

// The catalog with what the pools' servers report (pool -> model ids, for the
// pools that answered): configured models marked listed or not, and each
// pool's unconfigured ids added after its configured ones.
v1::ListModelsResponse MergeReportedModels(
    const v1::ListModelsResponse& catalog,
    const std::map<std::string, std::vector<std::string>>& reported);

// What ListModels answers now: the catalog merged with the models the pools
// report, each marked available or not by its pool's health.
v1::ListModelsResponse CurrentModels(const v1::ListModelsResponse& catalog,
                                     const upstream::Routing& routing);

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_MODEL_CATALOG_H_
