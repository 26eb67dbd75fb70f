#ifndef VOXGATE_SERVER_MODEL_CATALOG_H_
#define VOXGATE_SERVER_MODEL_CATALOG_H_

#include "server/config/config.h"
#include "voxgate/v1/models.pb.h"

namespace voxgate::server {

// The models the configuration serves, with the capabilities and limits their
// pools' protocols honestly offer. A pool that lists no models appears under
// its own name. Pure function of the config; thread-compatible.
v1::ListModelsResponse BuildModelCatalog(const Config& config);

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_MODEL_CATALOG_H_
