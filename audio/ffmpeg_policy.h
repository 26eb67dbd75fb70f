#ifndef VOXGATE_AUDIO_FFMPEG_POLICY_H_
#define VOXGATE_AUDIO_FFMPEG_POLICY_H_

// What FFmpeg may open on our behalf. Private to audio/.

#include "absl/status/statusor.h"
#include "audio/ffmpeg_handles.h"

namespace voxgate::audio::internal {

// Containers we open, for AVFormatContext::format_whitelist. Playlist-style
// demuxers (hls, concat, ...) are absent on purpose: they open further URLs.
inline constexpr char kFormatWhitelist[] =
    "wav,mp3,flac,ogg,matroska,webm,mov,mp4,m4a,aac,s16le,mulaw,alaw";

// Audio codecs we decode; anything else is refused before a decoder opens.
bool IsAllowedCodec(AVCodecID id);

// For AVFormatContext::io_open: nested opens (playlists, references to other
// files) are refused outright.
int RefuseNestedOpen(AVFormatContext*, AVIOContext**, const char*, int,
                     AVDictionary**);

// The input's audio stream to decode, once its headers are read: probes for
// stream information only when the headers do not describe one audio stream
// fully (probing decodes ahead). INVALID_ARGUMENT when there is none or its
// codec is not allowed.
struct AudioStream {
  int index = -1;
  const AVCodec* codec = nullptr;
};
absl::StatusOr<AudioStream> FindAudioStream(AVFormatContext* format);

// An opened single-threaded decoder for `stream` (parallelism comes from
// decoding requests side by side).
absl::StatusOr<CodecContextPtr> OpenDecoder(AVFormatContext* format,
                                            const AudioStream& stream);

}  // namespace voxgate::audio::internal

#endif  // VOXGATE_AUDIO_FFMPEG_POLICY_H_
