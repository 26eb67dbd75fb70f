#!/usr/bin/env bash
# Builds and runs every test suite, then prints "N passed, N failed" over all of
# them (test cases, not targets) and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh || exit 1

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
status=0

# bazel_suite NAME "OPTIONS" TARGETS...: runs `bazel test` and records the counted
# cases in $results/NAME.count.
bazel_suite() {
  local suite=$1 options=$2
  shift 2
  echo "== $suite: bazel test $options $*"
  # shellcheck disable=SC2086  # options is a list of flags
  bazel test --test_summary=short $options "$@" 2>&1 | tee "$results/$suite.log"
  local code=${PIPESTATUS[0]}
  # 4 = no tests found: not a failure of the suite.
  [[ $code -eq 0 || $code -eq 4 ]] || status=1
  # shellcheck disable=SC2086
  python3 scripts/count_test_results.py --bazel-log "$results/$suite.log" \
    --bazel-exit "$code" \
    --testlogs "$(bazel info $options bazel-testlogs 2>/dev/null)" >"$results/$suite.count"
}

bazel_suite unit-and-integration "" //...
# AddressSanitizer + UBSan over the same tests (heavy ones opt out: tag no_asan).
bazel_suite asan "--config=asan --test_tag_filters=-no_asan" //...

# grpcurl against the real binaries, reflection only.
echo "== grpcurl"
bazel build //server:voxgate //tests/fake_upstream:fake_upstream_server >/dev/null 2>&1
bin=$(bazel info bazel-bin 2>/dev/null)
tools="${VOXGATE_TOOLS:-$HOME/.cache/voxgate-tools}"
if tests/grpcurl_test.sh "$tools/bin/grpcurl" "$bin/server/voxgate" \
  "$bin/tests/fake_upstream/fake_upstream_server" | tee "$results/grpcurl.log"; then
  :
else
  status=1
fi
tail -n 1 "$results/grpcurl.log" | awk '/passed, / {print $1, $3; found=1} END {if (!found) print 0, 1}' \
  >"$results/grpcurl.count"

python3 scripts/count_test_results.py --sum "$results"/*.count || status=1
exit $status
