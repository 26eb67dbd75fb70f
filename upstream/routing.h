#ifndef VOXGATE_UPSTREAM_ROUTING_H_
#define VOXGATE_UPSTREAM_ROUTING_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "upstream/backend.h"

namespace voxgate::upstream {

// Which backend serves a request: what calls depend on, instead of the
// concrete Upstreams (which implements it), so tests can hand them fake
// backends. Thread-safe.
class Routing {
 public:
  virtual ~Routing() = default;

  // The backend for a transcription with `model` ("" = the default audio
  // pool). NOT_FOUND for an unknown model; FAILED_PRECONDITION when no pool
  // transcribes. An unavailable pool gives way to its fallback pool.
  virtual absl::StatusOr<TranscriptionBackend*> ForTranscription(
      const std::string& model) const = 0;
  // The text chat backend for `model`; FAILED_PRECONDITION naming how to
  // configure one when there is none.
  virtual absl::StatusOr<ChatBackend*> ForChat(
      const std::string& model) const = 0;
  // A chat backend that accepts audio parts (openai_chat_audio).
  virtual absl::StatusOr<ChatBackend*> ForAudioChat(
      const std::string& model) const = 0;

  // The name of the pool behind a backend this object returned.
  virtual std::string PoolNameFor(
      const TranscriptionBackend& backend) const = 0;
  virtual std::string PoolNameFor(const ChatBackend& backend) const = 0;

  // The model name to send upstream for a requested one: "" when the request
  // named a pool rather than a model (the pool's default applies).
  virtual std::string UpstreamModelName(const std::string& model) const = 0;

  // Per pool: whether at least one endpoint is available.
  virtual std::map<std::string, bool> PoolAvailability() const = 0;

  // Per pool that has answered GET /models: the model ids it reported last.
  // Pools absent have not answered (or do not list models).
  virtual std::map<std::string, std::vector<std::string>> ReportedModels()
      const {
    return {};
  }
};

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_ROUTING_H_
