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
  # Upstream, metrics, config, JSON, the HTTP front door (Boost.Beast)
  libcurl4-openssl-dev prometheus-cpp-dev libyaml-cpp-dev nlohmann-json3-dev
  libboost1.81-dev
  # Tenants: key hashes and TLS (OpenSSL), shared limits (hiredis)
  libssl-dev libhiredis-dev
  # Embedded engine
  libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us
  # Tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev pocketsphinx-testdata flite sox ffmpeg
  curl
  # Building llama-server for the real-model-server suite
  cmake ninja-build
  # Metrics tests: promtool checks the exposition, a real Prometheus scrapes it
  prometheus
  # The HTTP front door's browser test and HTTP benchmark
  chromium chromium-driver wrk
  # Tenants suite: a real Redis for shared limits, openssl for test certificates
  redis-server openssl
  # Kubernetes: the offline image (buildah, run by podman with runc), and the
  # multi-replica proof behind real L7 gRPC balancers
  buildah podman runc haproxy nginx-light
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

# Test and client tooling (scripts/test.sh passes --tests): Go tools into a folder
# of our own, and a Python virtualenv for the Python client's suite. Versions are
# pinned; a stamp per tool makes a version change reinstall it.
[[ ${1:-} == --tests ]] || exit 0
readonly TOOLS="${VOXGATE_TOOLS:-$HOME/.cache/voxgate-tools}"
mkdir -p "$TOOLS/bin"
go_tool() {  # binary module@version
  local name=$1 module=$2
  local stamp="$TOOLS/bin/.$name.version"
  if [[ -x $TOOLS/bin/$name && $(cat "$stamp" 2>/dev/null) == "$module" ]]; then
    return
  fi
  echo "setup: installing $module into $TOOLS/bin" >&2
  GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod go install "$module"
  echo "$module" >"$stamp"
}
go_tool grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.8.9
go_tool protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
go_tool protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
go_tool protoc-gen-connect-go connectrpc.com/connect/cmd/protoc-gen-connect-go@v1.21.1
go_tool protoc-gen-doc github.com/pseudomuto/protoc-gen-doc/cmd/protoc-gen-doc@v1.5.1
go_tool buf github.com/bufbuild/buf/cmd/buf@v1.75.0
# helm lint and helm template over charts/voxgate (tests/kubernetes).
go_tool helm helm.sh/helm/v3/cmd/helm@v3.22.0

readonly REQUIREMENTS=client/python/requirements-dev.txt
if [[ ! -x $TOOLS/venv/bin/python ]]; then
  python3 -m venv "$TOOLS/venv"
fi
if ! cmp -s "$REQUIREMENTS" "$TOOLS/venv/.requirements"; then
  echo "setup: installing $REQUIREMENTS into $TOOLS/venv" >&2
  "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check -r "$REQUIREMENTS"
  cp "$REQUIREMENTS" "$TOOLS/venv/.requirements"
fi
# The client is installed editable from this checkout: a venv cached from
# another clone would otherwise import that clone's (stale or deleted) code.
if [[ "$(cat "$TOOLS/venv/.client-path" 2>/dev/null)" != "$PWD" ]]; then
  "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check --no-deps -e client/python
  echo "$PWD" >"$TOOLS/venv/.client-path"
fi
# The Go client's and the manifest checker's modules (go.sum pins them),
# fetched once.
(cd client/go && go mod download)
(cd k8s/check && go mod download)
