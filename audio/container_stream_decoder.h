#ifndef VOXGATE_AUDIO_CONTAINER_STREAM_DECODER_H_
#define VOXGATE_AUDIO_CONTAINER_STREAM_DECODER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace voxgate::audio {

// Which containers a stream may declare; the bytes must agree.
enum class StreamContainer {
  kAny,       // sniffed: Ogg, WebM/Matroska, MP3, FLAC, WAV
  kOggOpus,   // Firefox's MediaRecorder
  kWebmOpus,  // Chrome's MediaRecorder
  kOggVorbis,
  kMp3,
  kFlac,
};

// Decodes an encoded container stream (WebM/Opus, Ogg/Opus, ...) that arrives
// in pieces, as a browser's MediaRecorder sends it, to 16 kHz mono float.
//
// FFmpeg's demuxers read through a blocking callback and cannot resume after a
// short read, so each stream has its own demuxer thread that waits for bytes
// like a reader of a pipe. Push hands it a piece and waits until it has decoded
// everything it can (it is starved again), so the caller gets the audio of
// every complete packet at once and the input held is one piece at most.
// Not thread-safe: one caller at a time (a stream's worker job).
class ContainerStreamDecoder {
 public:
  explicit ContainerStreamDecoder(StreamContainer container,
                                  int target_rate = 16000);
  ContainerStreamDecoder(const ContainerStreamDecoder&) = delete;
  ContainerStreamDecoder& operator=(const ContainerStreamDecoder&) = delete;
  // Stops the demuxer thread wherever it is.
  ~ContainerStreamDecoder();

  // Appends the audio decoded from `bytes` (and what came before it) to `out`.
  // INVALID_ARGUMENT, naming the problem, once the stream cannot be decoded.
  absl::Status Push(absl::string_view bytes, std::vector<float>& out);
  // End of input: decodes what is left and drains the resampler.
  absl::Status Finish(std::vector<float>& out);

 private:
  void Run();
  absl::Status Decode();
  // The demuxer's read callback: blocks until bytes, end of input or stop.
  int Read(uint8_t* buffer, int size);
  static int ReadThunk(void* opaque, uint8_t* buffer, int size);
  static int InterruptThunk(void* opaque);
  void Emit(std::vector<float> samples);
  absl::Status WaitUntilStarvedOrDone(std::vector<float>& out);
  bool Readable() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return consumed_ < input_.size() || input_ended_ || stopping_;
  }
  bool StarvedOrDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return starved_ || done_;
  }

  const StreamContainer container_;
  const int target_rate_;
  absl::Mutex mu_;
  std::string input_ ABSL_GUARDED_BY(mu_);
  std::size_t consumed_ ABSL_GUARDED_BY(mu_) = 0;
  bool input_ended_ ABSL_GUARDED_BY(mu_) = false;
  bool starved_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::vector<float> output_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace voxgate::audio

#endif  // VOXGATE_AUDIO_CONTAINER_STREAM_DECODER_H_
