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

// An I/O context reading through `read` (and `seek`, may be null) with a
// buffer of `buffer_size`; RESOURCE_EXHAUSTED when out of memory.
absl::StatusOr<IoContextPtr> MakeIoContext(int buffer_size, void* opaque,
                                           int (*read)(void*, uint8_t*, int),
                                           int64_t (*seek)(void*, int64_t,
                                                           int));

// A format context on `io` that opens only what the policy above allows: the
// container whitelist, no nested opens, at most `max_streams` streams, and
// `interrupt(opaque)` checked during blocking work. Pass it to
// avformat_open_input (which frees it on failure).
AVFormatContext* GuardedFormatContext(AVIOContext* io, int (*interrupt)(void*),
                                      void* opaque, int max_streams);

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
