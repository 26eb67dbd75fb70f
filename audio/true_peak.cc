#include "audio/true_peak.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace voxgate::audio {
namespace {

constexpr int kTaps = 48;
constexpr int kPhases = 4;
// Between two samples the band-limited signal rises at most ~3 dB above the
// larger (a sine at a quarter of the rate sampled 45 degrees off its crests),
// so overs can only hide next to samples this close to the sample peak.
constexpr double kCandidateMarginDb = 3.5;

// kPhases - 1 fractional-delay filters (phase 0 is the sample itself).
using Filters = std::array<std::array<double, kTaps>, kPhases - 1>;

Filters MakeFilters() {
  Filters filters{};
  for (int phase = 1; phase < kPhases; ++phase) {
    const double fraction = static_cast<double>(phase) / kPhases;
    for (int tap = 0; tap < kTaps; ++tap) {
      // Tap k weighs sample (n + k - kTaps/2 + 1) for the point n + fraction.
      const double x = tap - kTaps / 2 + 1 - fraction;
      const double sinc =
          std::abs(x) < 1e-12 ? 1 : std::sin(M_PI * x) / (M_PI * x);
      const double window = 0.5 + 0.5 * std::cos(M_PI * x / (kTaps / 2));
      filters[phase - 1][tap] = sinc * window;
    }
  }
  return filters;
}

}  // namespace

double EstimateTruePeakDbtp(const PcmAudio& audio) {
  static const Filters filters = MakeFilters();
  const int channels = audio.channels;
  const int64_t frames = audio.frames();
  double sample_peak = 0;
  for (float sample : audio.samples)
    sample_peak = std::max<double>(sample_peak, std::abs(sample));
  if (sample_peak == 0) return -HUGE_VAL;
  const double threshold =
      sample_peak * std::pow(10.0, -kCandidateMarginDb / 20);

  double peak = sample_peak;
  for (int channel = 0; channel < channels; ++channel) {
    auto sample_at = [&](int64_t frame) -> double {
      return frame < 0 || frame >= frames
                 ? 0.0
                 : audio.samples[frame * channels + channel];
    };
    for (int64_t frame = 0; frame < frames; ++frame) {
      // Inter-sample peaks sit next to the waveform's local extremes.
      const double magnitude = std::abs(sample_at(frame));
      if (magnitude < threshold || magnitude < std::abs(sample_at(frame - 1)) ||
          magnitude < std::abs(sample_at(frame + 1))) {
        continue;
      }
      // The points between this sample and each neighbour.
      for (int64_t start : {frame - 1, frame}) {
        for (const auto& filter : filters) {
          double value = 0;
          for (int tap = 0; tap < kTaps; ++tap) {
            value += filter[tap] * sample_at(start + tap - kTaps / 2 + 1);
          }
          peak = std::max(peak, std::abs(value));
        }
      }
    }
  }
  return 20 * std::log10(peak);
}

}  // namespace voxgate::audio
