#ifndef VOXGATE_AUDIO_DECODER_H_
#define VOXGATE_AUDIO_DECODER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "audio/pcm.h"
#include "common/logging.h"

namespace voxgate::audio {

// How the input bytes are encoded.
enum class InputFormat {
  kAuto,   // sniff the container (WAV, MP3, FLAC, Ogg, WebM/Matroska, MP4/M4A,
           // AAC)
  kS16le,  // raw signed 16-bit little-endian PCM; needs rate and channels
  kMulaw,  // raw G.711 mu-law; needs rate and channels
  kAlaw,   // raw G.711 A-law; needs rate and channels
};

struct DecodeOptions {
  InputFormat format = InputFormat::kAuto;
  // For raw formats.
  int input_sample_rate = 0;
  int input_channels = 0;
  // Output: resampled and mixed to this rate and channel count.
  int target_sample_rate = 16000;
  int target_channels = 1;
  // Defences against hostile input; each breach is INVALID_ARGUMENT naming it.
  int64_t max_input_bytes = 32 << 20;
  absl::Duration max_duration = absl::Hours(4);
  // How errors name max_duration.
  std::string max_duration_name = "max_audio_duration";
  absl::Duration max_wall_time = absl::Seconds(60);
  int64_t probe_bytes = 1 << 20;
  int max_streams = 4;
};

// Facts about the input, for responses and warnings.
struct SourceInfo {
  std::string container;  // FFmpeg demuxer name, e.g. "mp3", "ogg", "wav"
  std::string codec;      // e.g. "mp3float", "opus", "pcm_s16le"
  int sample_rate = 0;
  int channels = 0;
};

struct DecodedAudio {
  PcmAudio pcm;
  SourceInfo source;
};

// Decodes `bytes` from memory with the FFmpeg libraries, resampling and
// downmixing with libswresample. Only audio containers and codecs on a
// whitelist are opened; playlist-style demuxers (hls, concat) and nested opens
// are refused. Returns INVALID_ARGUMENT for empty, undecodable or over-limit
// input, with the limit's name in the message. Thread-safe: every call has its
// own FFmpeg contexts; CPU heavy, so call it from a worker, never from a gRPC
// reaction.
absl::StatusOr<DecodedAudio> DecodeAudio(absl::string_view bytes,
                                         const DecodeOptions& options);

// Decodes a file step by step, with the limits and whitelist of DecodeAudio,
// so that a long file is processed in pieces with bounded memory (Transcribe's
// file, or a spooled upload whose container needs seeking, as MP4 with its
// index at the end).
// Not thread-safe: one caller at a time; CPU heavy, like DecodeAudio.
class FileDecoder {
 public:
  // Opens the first `size` bytes of `fd` (read with pread; the caller keeps
  // it open while the decoder lives). INVALID_ARGUMENT as DecodeAudio.
  static absl::StatusOr<std::unique_ptr<FileDecoder>> Open(
      int fd, int64_t size, const DecodeOptions& options);
  // Opens `bytes` in memory; they must outlive the decoder.
  static absl::StatusOr<std::unique_ptr<FileDecoder>> OpenMemory(
      absl::string_view bytes, const DecodeOptions& options);
  virtual ~FileDecoder() = default;

  virtual const SourceInfo& source() const = 0;
  // Decodes until at least `min_samples` more samples were appended to `out`
  // (interleaved, at the target rate and channels), or the file ended: true
  // while there may be more. INVALID_ARGUMENT as DecodeAudio, including the
  // wall-time limit, counted over the time spent in Open and Next.
  virtual absl::StatusOr<bool> Next(int64_t min_samples,
                                    std::vector<float>& out) = 0;
};

// Seconds of audio in `bytes`, decoded step by step and counted (a header
// may lie about its length), with DecodeAudio's limits and errors, in
// constant memory. CPU heavy, like DecodeAudio.
absl::StatusOr<double> MeasureAudioSeconds(absl::string_view bytes,
                                           const DecodeOptions& options);

// Routes FFmpeg's own log lines to `logger` (warnings and errors only: FFmpeg
// is chatty about recoverable stream damage). Until called, FFmpeg logs
// nothing. Process-wide, as FFmpeg's logging is; `logger` must outlive every
// decode.
void RouteFfmpegLogs(const Logger& logger);

}  // namespace voxgate::audio

#endif  // VOXGATE_AUDIO_DECODER_H_
