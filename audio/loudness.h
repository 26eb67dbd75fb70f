#ifndef VOXGATE_AUDIO_LOUDNESS_H_
#define VOXGATE_AUDIO_LOUDNESS_H_

#include "absl/status/statusor.h"
#include "audio/pcm.h"

namespace voxgate::audio {

struct LoudnessMeasurement {
  // EBU R128 / ITU-R BS.1770 integrated loudness; -inf for silence.
  double integrated_lufs = 0;
  // Highest true (inter-sample) peak over all channels, dBTP.
  double true_peak_dbtp = 0;
};

// Measures with libebur128: integrated loudness and the true peak (4x
// oversampled, ITU-R BS.1770-4). INTERNAL only if the library cannot allocate.
absl::StatusOr<LoudnessMeasurement> MeasureLoudness(const PcmAudio& audio);

struct NormalizeOptions {
  double target_lufs = -16;
  // The gain never lifts the true peak above this.
  double true_peak_ceiling_dbtp = -1.5;
  // Quiet recordings are not lifted by more than this (noise would come up
  // too).
  double max_gain_db = 30;
};

struct NormalizeResult {
  LoudnessMeasurement before;
  double gain_db = 0;
};

// Measures, then applies one fixed gain towards the target, limited by the
// true-peak ceiling and max_gain_db: linear normalisation (two-pass loudnorm),
// no dynamics processing. Silence is left alone. The true peak is estimated
// (EstimateTruePeakDbtp) only when the sample peak after the gain comes within
// 3 dB of the ceiling; otherwise `before.true_peak_dbtp` is the sample peak.
absl::StatusOr<NormalizeResult> NormalizeLoudness(
    PcmAudio& audio, const NormalizeOptions& options);

}  // namespace voxgate::audio

#endif  // VOXGATE_AUDIO_LOUDNESS_H_
