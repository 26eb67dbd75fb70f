#ifndef VOXGATE_AUDIO_SEGMENTER_H_
#define VOXGATE_AUDIO_SEGMENTER_H_

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

}  // namespace voxgate::audio

#endif  // VOXGATE_AUDIO_SEGMENTER_H_
