#include "gateway/probe.h"

#include <curl/curl.h>

#include <cstdio>
#include <memory>

namespace voxgate::gateway {
namespace {

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};

size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }

}  // namespace

int RunProbe(const std::string& url) {
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (curl == nullptr) {
    std::fputs("voxgate probe: libcurl did not initialise\n", stderr);
    return 1;
  }
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 3000L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, Discard);
  // With tls.admin the probe asks https://127.0.0.1:...: the certificate
  // names the Service, not the loopback address, and the probe checks
  // liveness, not identity (the kubelet's HTTPS probes do not verify either).
  curl_easy_setopt(curl.get(), CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(curl.get(), CURLOPT_SSL_VERIFYHOST, 0L);
  const CURLcode result = curl_easy_perform(curl.get());
  if (result != CURLE_OK) {
    std::fprintf(stderr, "voxgate probe: %s: %s\n", url.c_str(),
                 curl_easy_strerror(result));
    return 1;
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    std::fprintf(stderr, "voxgate probe: %s answered HTTP %ld\n", url.c_str(),
                 status);
    return 1;
  }
  return 0;
}

}  // namespace voxgate::gateway
