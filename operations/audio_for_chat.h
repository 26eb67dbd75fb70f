#ifndef VOXGATE_OPERATIONS_AUDIO_FOR_CHAT_H_
#define VOXGATE_OPERATIONS_AUDIO_FOR_CHAT_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/byte_budget.h"
#include "common/clock.h"
#include "common/worker_pool.h"
#include "config/config.h"
#include "upstream/backend.h"
#include "voxgate/v1/audio.pb.h"

namespace voxgate::operations {

// Turns any supported audio into what chat models take as input_audio: 16 kHz
// mono WAV, preprocessed like Transcribe's (loudness included), on the audio
// workers, at most audio.max_chat_audio_duration long. Returns the error when
// it cannot start (INVALID_ARGUMENT naming `field`, RESOURCE_EXHAUSTED when
// the queue is full or `budget` cannot hold the decoded audio); otherwise
// `done` runs once on a worker thread with the WAV and its duration, or the
// decoding error. Decoding gets the time `clock` says is left before
// `deadline`.
absl::Status ConvertAudioForChat(
    const v1::AudioInput& audio, const Config& config, absl::string_view field,
    absl::Time deadline, const Clock& clock, WorkerPool& workers,
    ByteBudget* budget,
    std::function<void(absl::StatusOr<std::pair<std::string, double>>)> done);

// A chat request whose audio parts (WAV or MP3, as they go upstream) were
// measured: their seconds are what audio_seconds_per_hour is charged.
struct MeasuredChat {
  upstream::ChatRequest chat;
  double audio_seconds = 0;
};

// The audio parts of `chat`, as (message, part) indexes.
std::vector<std::pair<int, int>> AudioParts(const upstream::ChatRequest& chat);

// Decodes the audio parts of `chat` but those in `known` (already decoded,
// e.g. transcoded, and counted by the caller) on the audio workers to count
// their seconds (a header may lie), in constant memory, each at most
// audio.max_chat_audio_duration. Returns the error when it cannot start;
// otherwise `done` runs once on a worker with the request back, or
// INVALID_ARGUMENT naming the part that does not decode.
absl::Status MeasureChatAudio(
    upstream::ChatRequest chat, std::vector<std::pair<int, int>> known,
    const Config& config, absl::Time deadline, const Clock& clock,
    WorkerPool& workers,
    std::function<void(absl::StatusOr<MeasuredChat>)> done);

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_AUDIO_FOR_CHAT_H_
