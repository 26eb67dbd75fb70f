#ifndef VOXGATE_AUDIO_SEGMENTER_H_
#define VOXGATE_AUDIO_SEGMENTER_H_

#include <algorithm>
#include <cstdint>
#include <vector>

#include "audio/pcm.h"

namespace voxgate::audio {

struct SegmentOptions {
  // No chunk is longer than this (overlap included).
  double max_chunk_seconds = 30;
  // Each chunk after the first starts this much before its predecessor's cut.
  double overlap_seconds = 0.5;
  // Cut at the quietest point in the last `search_fraction` of the allowed
  // length; false cuts exactly at the limit.
  bool split_on_silence = true;
  double search_fraction = 1.0 / 3;
  int frame_ms = 20;
};

// A piece of the audio, in frames of the audio it was cut from.
struct Chunk {
  int64_t start_frame = 0;       // includes the overlap
  int64_t end_frame = 0;         // exclusive: the cut
  int64_t core_start_frame = 0;  // where audio new to this chunk begins
};

// Cuts long audio into chunks no longer than the maximum, at the quietest point
// near the limit, with the configured overlap. The cores [core_start, end) tile
// the audio exactly. Audio shorter than the maximum is one chunk.
// Thread-compatible.
std::vector<Chunk> SegmentAudio(const PcmAudio& audio,
                                const SegmentOptions& options);

// A chunk cut from audio that arrives in pieces, with its own samples.
struct StreamChunk {
  Chunk frames;  // in frames of the whole stream
  std::vector<float> samples;  // interleaved, as pushed
};

// SegmentAudio for audio that arrives in pieces: it holds only the audio
// not yet cut (one chunk's worth and the last piece), and cuts each chunk as
// soon as audio past the chunk's limit has come, by SegmentAudio's rule. So a
// file of any length is cut with bounded memory. Thread-compatible.
class StreamSegmenter {
 public:
  StreamSegmenter(int sample_rate, const SegmentOptions& options,
                  int channels = 1);

  // Appends interleaved samples (whole frames); returns the chunks now
  // complete, in order.
  std::vector<StreamChunk> Push(const std::vector<float>& samples);
  // End of audio: the rest as the last chunk (none when no audio came).
  std::vector<StreamChunk> Finish();
  // Frames pushed so far.
  int64_t frames_seen() const { return buffer_start_ + pending_.frames(); }
  // Frames that must still be pushed before the next chunk can be cut.
  int64_t frames_until_cut() const {
    return std::max<int64_t>(1, max_frames_ + 1 - pending_.frames());
  }
  // Memory held for audio not yet cut.
  int64_t held_bytes() const {
    return static_cast<int64_t>(pending_.samples.capacity() * sizeof(float));
  }

 private:
  StreamChunk TakeChunk(int64_t end);

  const SegmentOptions options_;
  const int64_t max_frames_;
  const int64_t overlap_;
  PcmAudio pending_;  // the audio from buffer_start_ on, not yet cut
  int64_t buffer_start_ = 0;
  int64_t core_start_ = 0;  // where the next chunk's new audio begins
};

}  // namespace voxgate::audio

#endif  // VOXGATE_AUDIO_SEGMENTER_H_
