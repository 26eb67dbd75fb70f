#ifndef VOXGATE_OPERATIONS_API_MAPPING_H_
#define VOXGATE_OPERATIONS_API_MAPPING_H_

// Between the public API (voxgate.v1) and the gateway's own types: validation
// with messages that name the field, and the translation both ways. Pure
// functions.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "audio/decoder.h"
#include "config/config.h"
#include "operations/transcription_job.h"
#include "upstream/backend.h"
#include "voxgate/v1/chat.pb.h"
#include "voxgate/v1/transcribe.pb.h"

namespace voxgate::operations {

// Where the audio's bytes are: inline in the message (checked for emptiness
// and the size limit here), or still to come (an upload checks as they come).
enum class AudioContent { kInline, kUploaded };

// Decode options for `audio` (named `field` in messages, e.g. "audio"; its
// format "<field>.format", or "format" when `field` is empty): checks the
// content (kInline) and the raw-format parameters.
absl::StatusOr<audio::DecodeOptions> DecodeOptionsFor(
    const v1::AudioInput& audio, const Config& config, absl::string_view field,
    AudioContent content = AudioContent::kInline);

// Everything a TranscriptionJob needs for `config`, sent to `backend`. Appends
// one warning per requested option the backend cannot honour.
absl::StatusOr<TranscriptionJobOptions> TranscriptionOptionsFor(
    const v1::RecognitionConfig& recognition, const v1::AudioInput& audio,
    const Config& config, const upstream::TranscriptionBackend& backend,
    const std::string& pool_name, std::vector<std::string>& warnings,
    AudioContent content = AudioContent::kInline);

void FillTranscribeResponse(const TranscriptionOutcome& outcome,
                            const v1::RecognitionConfig& recognition,
                            v1::TranscribeResponse& response);

void FillUsage(const upstream::Usage& usage, v1::Usage& out);

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_API_MAPPING_H_
