#!/usr/bin/env bash
# Fuzzes the audio decode entry point with libFuzzer for N seconds (default 300).
# Seeds are made fresh by scripts/make_fuzz_seeds.sh (one file per supported format).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
seconds=${1:-300}
work=${FUZZ_DIR:-/tmp/voxgate-fuzz}
mkdir -p "$work/corpus" "$work/seeds" "$work/crashes"
./scripts/make_fuzz_seeds.sh "$work/seeds"
bazel --output_base="$HOME/.cache/voxgate-fuzz-bazel" build --config=fuzz //audio:decoder_fuzzer
binary=$(bazel --output_base="$HOME/.cache/voxgate-fuzz-bazel" info --config=fuzz bazel-bin)/audio/decoder_fuzzer
"$binary" -max_total_time="$seconds" -max_len=262144 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$work/crashes/" -print_final_stats=1 "$work/corpus" "$work/seeds"
