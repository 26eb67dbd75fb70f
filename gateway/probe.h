#ifndef VOXGATE_GATEWAY_PROBE_H_
#define VOXGATE_GATEWAY_PROBE_H_

// `voxgate probe [URL]`: the container's HEALTHCHECK, for images with no shell
// or curl. GETs the admin port's readiness (default
// http://127.0.0.1:9464/readyz: the admin port is plaintext unless tls.admin;
// then give https://127.0.0.1:9464/readyz, whose certificate is not
// verified) and exits 0 on HTTP 200, 1 otherwise, printing why to stderr.

#include <string>

namespace voxgate::gateway {

inline constexpr char kDefaultProbeUrl[] = "http://127.0.0.1:9464/readyz";

int RunProbe(const std::string& url);

}  // namespace voxgate::gateway

#endif  // VOXGATE_GATEWAY_PROBE_H_
