#include "audio/segmenter.h"

#include <algorithm>
#include <cmath>

#include "audio/vad.h"

namespace voxgate::audio {
namespace {

// Frames within this much of the quietest one count as the same pause.
constexpr double kQuietMarginDb = 3;

}  // namespace

std::vector<Chunk> SegmentAudio(const PcmAudio& audio,
                                const SegmentOptions& options) {
  const int64_t total = audio.frames();
  const int64_t max_frames = std::max<int64_t>(
      1, static_cast<int64_t>(options.max_chunk_seconds * audio.sample_rate));
  const int64_t overlap = std::clamp<int64_t>(
      static_cast<int64_t>(options.overlap_seconds * audio.sample_rate), 0,
      max_frames / 4);
  const int frame_samples =
      std::max(1, audio.sample_rate * options.frame_ms / 1000);

  // Energies of the mono mix, one per analysis frame.
  std::vector<float> mono;
  const std::vector<float>* samples = &audio.samples;
  if (audio.channels > 1) {
    mono.resize(static_cast<std::size_t>(total));
    for (int64_t i = 0; i < total; ++i) {
      float sum = 0;
      for (int c = 0; c < audio.channels; ++c)
        sum += audio.samples[i * audio.channels + c];
      mono[i] = sum / audio.channels;
    }
    samples = &mono;
  }
  const std::vector<double> energies =
      FrameEnergiesDbfs(*samples, frame_samples);

  std::vector<Chunk> chunks;
  int64_t core_start = 0;
  while (true) {
    const int64_t start = chunks.empty() ? 0 : core_start - overlap;
    if (total - start <= max_frames) {
      chunks.push_back({start, total, core_start});
      return chunks;
    }
    const int64_t limit = start + max_frames;
    int64_t cut = limit;
    if (options.split_on_silence) {
      const int64_t window =
          static_cast<int64_t>(max_frames * options.search_fraction);
      // Whole frames inside [limit - window, limit]; the cut is a frame's
      // middle.
      const int64_t first =
          (limit - window + frame_samples - 1) / frame_samples;
      const int64_t last = limit / frame_samples - 1;
      double quietest = HUGE_VAL;
      int64_t best = last;
      for (int64_t f = last; f >= first; --f) {  // ties go to the later frame
        if (energies[f] < quietest - 1e-9) {
          quietest = energies[f];
          best = f;
        }
      }
      // Cut in the middle of the quiet stretch around it, not at its edge, so
      // both chunks keep a little silence around their words.
      int64_t quiet_first = best, quiet_last = best;
      while (quiet_first > first &&
             energies[quiet_first - 1] < quietest + kQuietMarginDb) {
        --quiet_first;
      }
      while (quiet_last < last &&
             energies[quiet_last + 1] < quietest + kQuietMarginDb) {
        ++quiet_last;
      }
      cut = (quiet_first + quiet_last + 1) * frame_samples / 2;
    }
    // Each chunk must bring new audio beyond its overlap.
    cut = std::clamp(cut, core_start + 1, limit);
    chunks.push_back({start, cut, core_start});
    core_start = cut;
  }
}

StreamSegmenter::StreamSegmenter(int sample_rate, const SegmentOptions& options,
                                 int channels)
    : options_(options),
      max_frames_(std::max<int64_t>(
          1, static_cast<int64_t>(options.max_chunk_seconds * sample_rate))),
      overlap_(std::clamp<int64_t>(
          static_cast<int64_t>(options.overlap_seconds * sample_rate), 0,
          max_frames_ / 4)) {
  pending_.sample_rate = sample_rate;
  pending_.channels = channels;
}

std::vector<StreamChunk> StreamSegmenter::Push(
    const std::vector<float>& samples) {
  pending_.samples.insert(pending_.samples.end(), samples.begin(),
                          samples.end());
  std::vector<StreamChunk> chunks;
  // SegmentAudio over one frame more than a chunk gives the first cut
  // exactly as it would over the whole file from here on.
  PcmAudio window;
  window.sample_rate = pending_.sample_rate;
  window.channels = pending_.channels;
  while (pending_.frames() > max_frames_) {
    window.samples.assign(
        pending_.samples.begin(),
        pending_.samples.begin() + (max_frames_ + 1) * pending_.channels);
    const std::vector<Chunk> cuts = SegmentAudio(window, options_);
    chunks.push_back(TakeChunk(cuts.front().end_frame));
  }
  return chunks;
}

std::vector<StreamChunk> StreamSegmenter::Finish() {
  std::vector<StreamChunk> chunks;
  if (pending_.frames() > core_start_ - buffer_start_) {
    chunks.push_back(TakeChunk(pending_.frames()));
  }
  return chunks;
}

StreamChunk StreamSegmenter::TakeChunk(int64_t end) {
  StreamChunk chunk;
  chunk.frames = {buffer_start_, buffer_start_ + end, core_start_};
  const int channels = pending_.channels;
  chunk.samples.assign(pending_.samples.begin(),
                       pending_.samples.begin() + end * channels);
  // The next chunk starts `overlap_` before this one's cut.
  const int64_t keep_from = std::max<int64_t>(0, end - overlap_);
  pending_.samples.erase(pending_.samples.begin(),
                         pending_.samples.begin() + keep_from * channels);
  buffer_start_ += keep_from;
  core_start_ = chunk.frames.end_frame;
  return chunk;
}

}  // namespace voxgate::audio
