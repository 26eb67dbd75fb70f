#include "audio/vad.h"

#include <algorithm>
#include <cmath>

namespace voxgate::audio {
namespace {

double EnergyDbfs(absl::Span<const float> frame) {
  double sum = 0;
  for (float sample : frame) sum += static_cast<double>(sample) * sample;
  const double mean = frame.empty() ? 0 : sum / frame.size();
  return 10 * std::log10(mean + 1e-12);
}

}  // namespace

EnergyVad::EnergyVad(const VadOptions& options, int sample_rate)
    : options_(options),
      frame_samples_(std::max(1, sample_rate * options.frame_ms / 1000)),
      hangover_frames_(options.hangover_ms / std::max(1, options.frame_ms)) {}

bool EnergyVad::Process(absl::Span<const float> frame) {
  const double energy = EnergyDbfs(frame);
  last_energy_dbfs_ = energy;
  ++frames_seen_;
  // The floor falls at once to quieter frames and rises slowly, so speech does
  // not drag it up but a noisier room is learnt within a few seconds. A quiet
  // first frame sets it; a loud one does not, or speech from the very first
  // frame (a caller who talks at once) would become the floor and be missed.
  const bool quiet_start =
      frames_seen_ == 1 && energy < options_.min_speech_dbfs;
  if (quiet_start || energy < noise_floor_dbfs_) {
    noise_floor_dbfs_ = energy;
  } else {
    noise_floor_dbfs_ += 0.005 * (energy - noise_floor_dbfs_);
  }
  const double threshold = std::max(noise_floor_dbfs_ + options_.margin_db,
                                    options_.min_speech_dbfs);
  last_frame_loud_ = energy > threshold;
  if (last_frame_loud_) {
    hangover_left_ = hangover_frames_;
    return true;
  }
  if (hangover_left_ > 0) {
    --hangover_left_;
    return true;
  }
  return false;
}

std::vector<double> FrameEnergiesDbfs(absl::Span<const float> samples,
                                      int frame_samples) {
  std::vector<double> energies;
  for (std::size_t start = 0; start < samples.size(); start += frame_samples) {
    energies.push_back(EnergyDbfs(samples.subspan(start, frame_samples)));
  }
  return energies;
}

}  // namespace voxgate::audio
