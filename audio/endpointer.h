#ifndef VOXGATE_AUDIO_ENDPOINTER_H_
#define VOXGATE_AUDIO_ENDPOINTER_H_

#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "audio/vad.h"

namespace voxgate::audio {

struct EndpointerOptions {
  int sample_rate = 16000;
  // Silence after speech that ends an utterance.
  absl::Duration trailing_silence = absl::Milliseconds(600);
  // Longest utterance; longer speech is cut.
  absl::Duration max_utterance = absl::Seconds(30);
  // No speech this long from the start (or since the last utterance) raises a
  // timeout event; zero: never.
  absl::Duration speech_start_timeout = absl::ZeroDuration();
  // Audio kept before the detected start of speech, so soft onsets are not
  // lost.
  absl::Duration pre_roll = absl::Milliseconds(200);
  // Consecutive speech frames that start an utterance (filters clicks).
  int start_frames = 3;
  VadOptions vad;
};

struct EndpointEvent {
  enum class Type { kSpeechBegin, kUtteranceEnd, kSpeechStartTimeout };
  Type type;
  // In frames of the stream since its first sample.
  int64_t start_frame = 0;
  int64_t end_frame = 0;
  // kUtteranceEnd: the utterance's mono samples [start_frame, end_frame).
  std::vector<float> audio;
};

// Finds utterances in a stream of mono PCM fed in pieces of any size: speech
// begins after a few loud frames (kept with a pre-roll), ends after the
// trailing silence or at the maximum length. Memory is bounded by max_utterance
// + pre_roll. Thread-compatible.
class Endpointer {
 public:
  explicit Endpointer(const EndpointerOptions& options);

  // Appends samples; returns the events they complete, in order.
  std::vector<EndpointEvent> Push(absl::Span<const float> samples);
  // Ends the current utterance now (if speech was seen), e.g. on a client
  // request.
  std::vector<EndpointEvent> Finalize();
  // End of stream: finalizes, including a partial last frame.
  std::vector<EndpointEvent> Flush();

  bool in_utterance() const { return in_utterance_; }
  // The current utterance's audio so far (for interim results).
  const std::vector<float>& utterance_audio() const { return utterance_; }
  int64_t utterance_start_frame() const { return utterance_start_; }
  int64_t processed_frames() const { return processed_; }

 private:
  void ProcessFrame(absl::Span<const float> frame,
                    std::vector<EndpointEvent>& events);
  void EndUtterance(int64_t end_frame, std::vector<EndpointEvent>& events);

  const EndpointerOptions options_;
  EnergyVad vad_;
  const int64_t trailing_frames_;
  const int64_t max_frames_;
  const int64_t timeout_frames_;
  const std::size_t pre_roll_samples_;

  std::vector<float> pending_;   // less than one analysis frame
  std::vector<float> pre_roll_;  // recent audio while not in an utterance
  std::vector<float> utterance_;
  int64_t processed_ = 0;  // samples analysed so far
  int64_t utterance_start_ = 0;
  int64_t last_speech_end_ =
      0;                    // end of the last speech frame in the utterance
  int64_t idle_since_ = 0;  // start of the current wait for speech
  int speech_run_ = 0;
  bool in_utterance_ = false;
};

}  // namespace voxgate::audio

#endif  // VOXGATE_AUDIO_ENDPOINTER_H_
