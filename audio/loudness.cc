#include "audio/loudness.h"

#include <ebur128.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "audio/true_peak.h"

namespace voxgate::audio {
namespace {

struct Ebur128Deleter {
  void operator()(ebur128_state* state) const { ebur128_destroy(&state); }
};

// Runs libebur128 over the audio in `mode` and returns the state.
absl::StatusOr<std::unique_ptr<ebur128_state, Ebur128Deleter>> Analyse(
    const PcmAudio& audio, int mode) {
  std::unique_ptr<ebur128_state, Ebur128Deleter> state(
      ebur128_init(static_cast<unsigned>(audio.channels),
                   static_cast<unsigned long>(audio.sample_rate), mode));
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
  return state;
}

double PeakDb(ebur128_state* state, int channels,
              int (*peak_of)(ebur128_state*, unsigned int, double*)) {
  double peak = 0;
  for (int channel = 0; channel < channels; ++channel) {
    double channel_peak = 0;
    peak_of(state, static_cast<unsigned>(channel), &channel_peak);
    peak = std::max(peak, channel_peak);
  }
  return peak > 0 ? 20 * std::log10(peak) : -HUGE_VAL;
}

// Inter-sample peaks of audio band-limited below Nyquist stay within this of
// the sample peak in practice (EBU Tech 3341 reports under 1 dB for programme
// material; synthetic worst cases reach ~3 dB).
constexpr double kInterSamplePeakMarginDb = 3;

}  // namespace

absl::StatusOr<LoudnessMeasurement> MeasureLoudness(const PcmAudio& audio) {
  auto state = Analyse(audio, EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK);
  if (!state.ok()) return state.status();
  LoudnessMeasurement measurement;
  ebur128_loudness_global(state->get(), &measurement.integrated_lufs);
  measurement.true_peak_dbtp =
      PeakDb(state->get(), audio.channels, &ebur128_true_peak);
  return measurement;
}

absl::StatusOr<NormalizeResult> NormalizeLoudness(
    PcmAudio& audio, const NormalizeOptions& options) {
  // libebur128's own sample-peak mode costs twice its loudness measurement; a
  // plain scan costs almost nothing.
  auto state = Analyse(audio, EBUR128_MODE_I);
  if (!state.ok()) return state.status();
  NormalizeResult result;
  ebur128_loudness_global(state->get(), &result.before.integrated_lufs);
  float sample_peak = 0;
  for (float sample : audio.samples) {
    sample_peak = std::max(sample_peak, std::abs(sample));
  }
  result.before.true_peak_dbtp =
      sample_peak > 0 ? 20 * std::log10(sample_peak) : -HUGE_VAL;
  if (!std::isfinite(result.before.integrated_lufs) ||
      !std::isfinite(result.before.true_peak_dbtp)) {
    return result;  // silence (or below the gate): nothing to normalise
  }
  double gain_db = std::min(options.target_lufs - result.before.integrated_lufs,
                            options.max_gain_db);
  if (result.before.true_peak_dbtp + gain_db >
      options.true_peak_ceiling_dbtp - kInterSamplePeakMarginDb) {
    result.before.true_peak_dbtp = EstimateTruePeakDbtp(audio);
    gain_db = std::min(
        gain_db, options.true_peak_ceiling_dbtp - result.before.true_peak_dbtp);
  }
  result.gain_db = gain_db;
  const float gain = static_cast<float>(std::pow(10.0, gain_db / 20));
  for (float& sample : audio.samples) sample *= gain;
  return result;
}

}  // namespace voxgate::audio
