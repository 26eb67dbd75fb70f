#!/usr/bin/env bash
# Builds and starts the gateway. With no flags it serves on 0.0.0.0:50051 with the
# embedded offline engine; every flag of `voxgate --help` can be passed through.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
bazel build //server:voxgate
exec ./bazel-bin/server/voxgate "$@"
