#!/usr/bin/env bash
# Fuzzes one entry point with libFuzzer (clang, ASan + UBSan) for N seconds.
#   scripts/fuzz.sh decoder [seconds]  the audio decode entry point (default
#                                      300 s); seeds made fresh by
#                                      scripts/make_fuzz_seeds.sh
#   scripts/fuzz.sh http [seconds]     the HTTP door's request mapping
#                                      (default 300 s); seeds checked in under
#                                      http/fuzz_corpus
# Prints libFuzzer's final stats (executions, coverage) and exits non-zero on
# a finding, whose input is kept under $FUZZ_DIR/<target>/crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-decoder}
seconds=${2:-300}
case $target in
  decoder) label=//audio:decoder_fuzzer max_len=262144 ;;
  http) label=//http:request_mapping_fuzzer max_len=65536 ;;
  *) echo "usage: $0 decoder|http [seconds]" >&2; exit 2 ;;
esac
[[ -n ${VOXGATE_SKIP_SETUP:-} ]] || ./scripts/setup.sh
work=${FUZZ_DIR:-/tmp/voxgate-fuzz}/$target
mkdir -p "$work/corpus" "$work/seeds" "$work/crashes"
if [[ $target == decoder ]]; then
  ./scripts/make_fuzz_seeds.sh "$work/seeds"
else
  cp http/fuzz_corpus/* "$work/seeds/"
fi
# An output base of its own keeps the gcc toolchain of the other builds
# configured; the disk cache is shared with them.
tools="${VOXGATE_TOOLS:-$HOME/.cache/voxgate-tools}"
output_base="$HOME/.cache/voxgate-fuzz-bazel"
bazel --output_base="$output_base" build --config=fuzz \
  --experimental_convenience_symlinks=ignore \
  --disk_cache="$tools/bazel-disk-cache" "$label" >&2
binary=$(bazel --output_base="$output_base" info --config=fuzz bazel-bin 2>/dev/null)/${label#//}
binary=${binary/://}
"$binary" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$work/crashes/" -print_final_stats=1 "$work/corpus" "$work/seeds"
