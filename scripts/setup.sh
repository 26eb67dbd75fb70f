#!/usr/bin/env bash
# Installs every Debian package the build and the tests need. Idempotent and
# non-interactive: packages already present are skipped, so a second run is quick.
set -euo pipefail

readonly PACKAGES=(
  # Build
  bazel-bootstrap bazel-platforms openjdk-17-jdk-headless g++ pkg-config clang clang-format
  libclang-rt-14-dev
  # gRPC and protobuf
  libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev grpc-proto
  libabsl-dev
  # Audio
  libavformat-dev libavcodec-dev libswresample-dev libavfilter-dev libavutil-dev libebur128-dev
  # Upstream, metrics, config, JSON
  libcurl4-openssl-dev prometheus-cpp-dev libyaml-cpp-dev nlohmann-json3-dev
  # Embedded engine
  libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us
  # Tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev pocketsphinx-testdata flite sox ffmpeg
  curl
  # Metrics tests: promtool checks the exposition, a real Prometheus scrapes it
  prometheus
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$pkg")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# grpcurl (a Go module) for the grpcurl test suite: into a tools folder of our own.
readonly TOOLS="${VOXGATE_TOOLS:-$HOME/.cache/voxgate-tools}"
if [[ ! -x $TOOLS/bin/grpcurl ]] && command -v go >/dev/null; then
  echo "setup: installing grpcurl into $TOOLS/bin" >&2
  GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.8.9
fi
