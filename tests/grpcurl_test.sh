#!/usr/bin/env bash
# grpcurl (reflection only, no .proto files) against the real voxgate binary and the
# fake upstream binary: every unary RPC, health, list and describe. Prints one
# PASS/FAIL line per check and a final "N passed, N failed"; exits 1 on a failure.
# Usage: tests/grpcurl_test.sh GRPCURL VOXGATE FAKE_UPSTREAM
set -uo pipefail
grpcurl=$1 voxgate=$2 fake=$3
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$fake" >"$work/fake.out" 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do grep -q port "$work/fake.out" && break; sleep 0.1; done
fake_port=$(sed -E 's/.*"port": ([0-9]+).*/\1/' "$work/fake.out")

"$voxgate" --listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 --http_listen=127.0.0.1:0 \
  --routing_mode=audio_text --audio_protocol=transcriptions \
  --audio_base_url="http://127.0.0.1:$fake_port/v1" \
  --text_base_url="http://127.0.0.1:$fake_port/v1" 2>"$work/voxgate.err" &
pids+=($!)
for _ in $(seq 100); do grep -q '"serving"' "$work/voxgate.err" && break; sleep 0.1; done
port=$(grep '"serving"' "$work/voxgate.err" | sed -E 's/.*"grpc_port":([0-9]+).*/\1/')
target="127.0.0.1:$port"

passed=0 failed=0
check() {  # name expected-substring command...
  local name=$1 expected=$2
  shift 2
  local output
  output=$("$@" 2>&1)
  if [[ $output == *"$expected"* ]]; then
    echo "PASS $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name: expected \"$expected\" in:"
    echo "$output" | head -20
    failed=$((failed + 1))
  fi
}

flite -voice slt -t "hello from grpcurl" -o "$work/speech.wav"
audio=$(base64 -w0 "$work/speech.wav")

check list "voxgate.v1.VoxgateService" "$grpcurl" -plaintext "$target" list
check describe "rpc StreamTranscribe" "$grpcurl" -plaintext "$target" describe voxgate.v1.VoxgateService
check health '"SERVING"' "$grpcurl" -plaintext -d '{"service": "voxgate.v1.VoxgateService"}' \
  "$target" grpc.health.v1.Health/Check
check ListModels '"protocol": "openai_transcriptions"' "$grpcurl" -plaintext "$target" \
  voxgate.v1.VoxgateService/ListModels
check Chat '"content": "echo: hi"' "$grpcurl" -plaintext \
  -d '{"messages": [{"role": "ROLE_USER", "content": [{"text": "hi"}]}]}' \
  "$target" voxgate.v1.VoxgateService/Chat
check Transcribe '"text": "audio ' "$grpcurl" -plaintext -max-msg-sz 67108864 \
  -d "{\"audio\": {\"content\": \"$audio\"}}" "$target" voxgate.v1.VoxgateService/Transcribe
check Analyze '"answer": "echo: ' "$grpcurl" -plaintext \
  -d "{\"audio\": {\"content\": \"$audio\"}, \"instruction\": \"What is said?\", \"mode\": \"ANALYZE_MODE_CASCADE\"}" \
  "$target" voxgate.v1.VoxgateService/Analyze
check ChatStream '"FINISH_REASON_STOP"' "$grpcurl" -plaintext \
  -d '{"messages": [{"role": "ROLE_USER", "content": [{"text": "hi"}]}]}' \
  "$target" voxgate.v1.VoxgateService/ChatStream
check InvalidArgument "Code: InvalidArgument" "$grpcurl" -plaintext -d '{}' \
  "$target" voxgate.v1.VoxgateService/Transcribe
# A batch and its operation, with the standard google.longrunning verbs.
check list-operations "google.longrunning.Operations" "$grpcurl" -plaintext "$target" list
operation=$("$grpcurl" -plaintext -max-msg-sz 67108864 \
  -d "{\"files\": [{\"id\": \"a\", \"audio\": {\"content\": \"$audio\"}}]}" \
  "$target" voxgate.v1.VoxgateService/BatchTranscribe |
  sed -n 's/.*"name": "\(operations\/[^"]*\)".*/\1/p')
check WaitOperation '"text": "audio ' "$grpcurl" -plaintext \
  -d "{\"name\": \"$operation\", \"timeout\": \"30s\"}" \
  "$target" google.longrunning.Operations/WaitOperation

echo "$passed passed, $failed failed"
((failed == 0))
