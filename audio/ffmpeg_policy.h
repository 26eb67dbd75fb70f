#ifndef VOXGATE_AUDIO_FFMPEG_POLICY_H_
#define VOXGATE_AUDIO_FFMPEG_POLICY_H_

// What FFmpeg may open on our behalf. Private to audio/.

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

}  // namespace voxgate::audio::internal

#endif  // VOXGATE_AUDIO_FFMPEG_POLICY_H_
