#ifndef VOXGATE_AUDIO_TRUE_PEAK_H_
#define VOXGATE_AUDIO_TRUE_PEAK_H_

#include "audio/pcm.h"

namespace voxgate::audio {

// The true (inter-sample) peak in dBTP, found by 4x oversampling (a 48-tap
// windowed sinc interpolator, as ITU-R BS.1770-4 Annex 2 describes) only around
// the samples within 6 dB of the sample peak, where inter-sample overs occur.
// Costs a fraction of oversampling the whole signal; tested against
// libebur128's full computation. -inf for silence.
double EstimateTruePeakDbtp(const PcmAudio& audio);

}  // namespace voxgate::audio

#endif  // VOXGATE_AUDIO_TRUE_PEAK_H_
