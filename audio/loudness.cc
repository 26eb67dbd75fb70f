#include "audio/loudness.h"

#include <ebur128.h>

#include <algorithm>
#include <cmath>
#include <memory>

namespace voxgate::audio {
namespace {

struct Ebur128Deleter {
  void operator()(ebur128_state* state) const { ebur128_destroy(&state); }
};

}  // namespace

absl::StatusOr<LoudnessMeasurement> MeasureLoudness(const PcmAudio& audio) {
  std::unique_ptr<ebur128_state, Ebur128Deleter> state(
      ebur128_init(static_cast<unsigned>(audio.channels),
                   static_cast<unsigned long>(audio.sample_rate),
                   EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK));
  if (state == nullptr) return absl::InternalError("ebur128_init failed");
  // In blocks, so the library's internal buffers stay small.
  constexpr int64_t kBlockFrames = 1 << 16;
  for (int64_t frame = 0; frame < audio.frames(); frame += kBlockFrames) {
    const int64_t frames = std::min(kBlockFrames, audio.frames() - frame);
    if (ebur128_add_frames_float(
            state.get(), audio.samples.data() + frame * audio.channels,
            static_cast<size_t>(frames)) != EBUR128_SUCCESS) {
      return absl::InternalError("ebur128_add_frames_float failed");
    }
  }
  LoudnessMeasurement measurement;
  ebur128_loudness_global(state.get(), &measurement.integrated_lufs);
  double peak = 0;
  for (int channel = 0; channel < audio.channels; ++channel) {
    double channel_peak = 0;
    ebur128_true_peak(state.get(), static_cast<unsigned>(channel),
                      &channel_peak);
    peak = std::max(peak, channel_peak);
  }
  measurement.true_peak_dbtp = peak > 0 ? 20 * std::log10(peak) : -HUGE_VAL;
  return measurement;
}

absl::StatusOr<NormalizeResult> NormalizeLoudness(
    PcmAudio& audio, const NormalizeOptions& options) {
  absl::StatusOr<LoudnessMeasurement> measured = MeasureLoudness(audio);
  if (!measured.ok()) return measured.status();
  NormalizeResult result;
  result.before = *measured;
  if (!std::isfinite(measured->integrated_lufs) ||
      !std::isfinite(measured->true_peak_dbtp)) {
    return result;  // silence (or below the gate): nothing to normalise
  }
  double gain_db = options.target_lufs - measured->integrated_lufs;
  gain_db = std::min(gain_db,
                     options.true_peak_ceiling_dbtp - measured->true_peak_dbtp);
  gain_db = std::min(gain_db, options.max_gain_db);
  result.gain_db = gain_db;
  const float gain = static_cast<float>(std::pow(10.0, gain_db / 20));
  for (float& sample : audio.samples) sample *= gain;
  return result;
}

}  // namespace voxgate::audio
