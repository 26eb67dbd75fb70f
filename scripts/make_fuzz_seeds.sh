#!/usr/bin/env bash
# Writes one small seed per supported input into DIR, each prefixed with the
# fuzzer's selector byte (0 = auto-detect, 1 = s16le, 2 = mu-law, 3 = A-law).
set -euo pipefail
dir=$1
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sox -n -r 16000 -c 1 -b 16 "$tmp/tone.wav" synth 0.3 sine 440 vol 0.5
flite -voice slt -t "seed" -o "$tmp/speech.wav"
encode() {  # name selector ffmpeg-args...
  local name=$1 selector=$2
  shift 2
  ffmpeg -nostdin -loglevel error -y -i "$tmp/tone.wav" "$@" "$tmp/$name"
  { printf "\\x$(printf %02x "$selector")"; cat "$tmp/$name"; } >"$dir/$name"
}
encode seed.wav 0 -c:a pcm_s16le
encode seed.mp3 0 -c:a libmp3lame -b:a 32k
encode seed.flac 0 -c:a flac
encode seed.ogg 0 -c:a libvorbis
encode seed.opus 0 -c:a libopus -b:a 16k
encode seed.webm 0 -c:a libopus -b:a 16k
encode seed.m4a 0 -c:a aac -b:a 32k
encode seed.s16 1 -f s16le -c:a pcm_s16le
encode seed.ulaw 2 -f mulaw -c:a pcm_mulaw
encode seed.alaw 3 -f alaw -c:a pcm_alaw
{ printf '\x00'; cat "$tmp/speech.wav"; } >"$dir/speech.wav"
printf '\x00#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n' >"$dir/playlist.m3u8"
