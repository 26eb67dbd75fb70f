#ifndef VOXGATE_TESTS_SIGNAL_ANALYSIS_H_
#define VOXGATE_TESTS_SIGNAL_ANALYSIS_H_

// Measurements tests make on PCM: tone power (Goertzel) and RMS level.

#include <cmath>
#include <vector>

namespace voxgate::testing {

// The amplitude of the `frequency` component of mono `samples` (Goertzel), i.e.
// 0.5 for a 0.5-amplitude sine at that frequency.
inline double ToneAmplitude(const std::vector<float>& samples, int sample_rate,
                            double frequency) {
  const double omega = 2 * M_PI * frequency / sample_rate;
  const double coefficient = 2 * std::cos(omega);
  double s1 = 0, s2 = 0;
  for (float sample : samples) {
    const double s0 = sample + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const double power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
  return 2 * std::sqrt(std::max(0.0, power)) / samples.size();
}

inline double Rms(const std::vector<float>& samples) {
  double sum = 0;
  for (float sample : samples) sum += static_cast<double>(sample) * sample;
  return samples.empty() ? 0 : std::sqrt(sum / samples.size());
}

inline double ToDecibels(double ratio) { return 20 * std::log10(ratio); }

}  // namespace voxgate::testing

#endif  // VOXGATE_TESTS_SIGNAL_ANALYSIS_H_
