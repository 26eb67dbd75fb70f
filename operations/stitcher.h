#ifndef VOXGATE_OPERATIONS_STITCHER_H_
#define VOXGATE_OPERATIONS_STITCHER_H_

#include <string>
#include <vector>

#include "upstream/types.h"

namespace voxgate::operations {

// One chunk's transcription and where the chunk sat in the whole audio.
struct ChunkTranscript {
  double start_seconds = 0;       // chunk start, overlap included
  double core_start_seconds = 0;  // where audio new to this chunk begins
  double end_seconds = 0;
  upstream::Transcription transcription;  // times relative to the chunk start
};

// The whole transcript, times from the start of the audio.
struct StitchedTranscript {
  std::string text;
  std::vector<upstream::Segment> segments;
  std::vector<upstream::Word> words;
  std::string language;
};

// Joins chunk transcripts in order. Words the overlap repeats are removed: by
// their timings when the backend gives words, else by matching the end of the
// previous text with the start of the next (up to eight words, ignoring case
// and punctuation). Segments are shifted to the audio's timeline; a chunk
// without segments becomes one segment spanning its new audio.
StitchedTranscript Stitch(const std::vector<ChunkTranscript>& chunks);

// SubRip and WebVTT subtitles of segments.
std::string ToSrt(const std::vector<upstream::Segment>& segments);
std::string ToVtt(const std::vector<upstream::Segment>& segments);

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_STITCHER_H_
