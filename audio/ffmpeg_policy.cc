#include "audio/ffmpeg_policy.h"

#include <set>

namespace voxgate::audio::internal {

bool IsAllowedCodec(AVCodecID id) {
  static const std::set<AVCodecID> kAllowed = {
      AV_CODEC_ID_PCM_S16LE, AV_CODEC_ID_PCM_S16BE,     AV_CODEC_ID_PCM_U8,
      AV_CODEC_ID_PCM_S24LE, AV_CODEC_ID_PCM_S32LE,     AV_CODEC_ID_PCM_F32LE,
      AV_CODEC_ID_PCM_F64LE, AV_CODEC_ID_PCM_MULAW,     AV_CODEC_ID_PCM_ALAW,
      AV_CODEC_ID_ADPCM_MS,  AV_CODEC_ID_ADPCM_IMA_WAV, AV_CODEC_ID_MP3,
      AV_CODEC_ID_MP2,       AV_CODEC_ID_FLAC,          AV_CODEC_ID_VORBIS,
      AV_CODEC_ID_OPUS,      AV_CODEC_ID_AAC,           AV_CODEC_ID_ALAC,
  };
  return kAllowed.count(id) > 0;
}

int RefuseNestedOpen(AVFormatContext*, AVIOContext**, const char*, int,
                     AVDictionary**) {
  return AVERROR(EPERM);
}

}  // namespace voxgate::audio::internal
