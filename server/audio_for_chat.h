#ifndef VOXGATE_SERVER_AUDIO_FOR_CHAT_H_
#define VOXGATE_SERVER_AUDIO_FOR_CHAT_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "common/worker_pool.h"
#include "server/config/config.h"
#include "voxgate/v1/audio.pb.h"

namespace voxgate::server {

// Turns any supported audio into what chat models take as input_audio: 16 kHz
// mono WAV, preprocessed like Transcribe's (loudness included), on the audio
// workers. Returns the error when it cannot start (INVALID_ARGUMENT naming
// `field`, RESOURCE_EXHAUSTED when the queue is full); otherwise `done` runs
// once on a worker thread with the WAV and its duration, or the decoding
// error.
absl::Status ConvertAudioForChat(
    const v1::AudioInput& audio, const Config& config, absl::string_view field,
    absl::Time deadline, WorkerPool& workers,
    std::function<void(absl::StatusOr<std::pair<std::string, double>>)> done);

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_AUDIO_FOR_CHAT_H_
