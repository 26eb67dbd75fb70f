#!/usr/bin/env bash
# Builds the gateway's container image offline, with no base image from any
# registry: buildah FROM scratch, then the binary, every shared library ldd
# names (and the dynamic loader), the pocketsphinx model, CA certificates and
# a passwd entry for the non-root user 65532. The same image the Dockerfile
# builds with network access, by other means.
#
#   scripts/build_image.sh [TAG]            build (default localhost/voxgate:dev)
#   scripts/build_image.sh --runtime-packages
#       print the Debian packages that own the libraries the binary links
#       directly (the Dockerfile's runtime stage must install them)
#
# Needs root (or a buildah set up for rootless use) and a built
# bazel-bin/gateway/voxgate.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly BINARY=bazel-bin/gateway/voxgate
readonly MODEL=/usr/share/pocketsphinx/model/en-us

runtime_packages() {
  local lib path
  for lib in $(readelf -d "$BINARY" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [[ $lib == ld-linux* ]] && continue  # the loader: libc6
    path=$(ldd "$BINARY" | awk -v lib="$lib" '$1 == lib { print $3 }')
    [[ -n $path ]] || { echo "build_image: ldd cannot find $lib" >&2; exit 1; }
    # usrmerge: dpkg may know the file under /lib or /usr/lib.
    { dpkg -S "$path" 2>/dev/null || dpkg -S "${path#/usr}" 2>/dev/null ||
      dpkg -S "/usr$path"; } | head -1 | cut -d: -f1
  done | sort -u
}

if [[ ${1:-} == --runtime-packages ]]; then
  runtime_packages
  exit 0
fi
readonly TAG=${1:-localhost/voxgate:dev}
[[ -x $BINARY ]] || { echo "build_image: build //gateway:voxgate first" >&2; exit 1; }

export BUILDAH_FORMAT=docker  # HEALTHCHECK is a Docker-format field
container=$(buildah from scratch)
trap 'buildah rm "$container" >/dev/null 2>&1 || true' EXIT
root=$(buildah mount "$container")

install -D -m 0755 -s "$BINARY" "$root/usr/local/bin/voxgate"
# Every library the loader resolves, at the path it resolves it, plus the
# loader itself: the image needs nothing else to start the binary.
for path in $(ldd "$BINARY" | grep -o '/[^ ]*'); do
  install -D -m 0644 "$(readlink -f "$path")" "$root$path"
done
chmod 0755 "$root$(ldd "$BINARY" | grep -o '/[^ ]*ld-linux[^ ]*')"
mkdir -p "$root/usr/share/pocketsphinx/model"
cp -r "$MODEL" "$root/usr/share/pocketsphinx/model/"
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt \
  "$root/etc/ssl/certs/ca-certificates.crt"
install -d -m 1777 "$root/tmp"
printf 'root:x:0:0:root:/:/nonexistent\nvoxgate:x:65532:65532:voxgate:/nonexistent:/nonexistent\n' \
  >"$root/etc/passwd"
printf 'root:x:0:\nvoxgate:x:65532:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
buildah umount "$container" >/dev/null

# `voxgate probe` is the HEALTHCHECK: no shell needed.
buildah config --user 65532:65532 --workingdir / \
  --entrypoint '["/usr/local/bin/voxgate"]' --cmd '' \
  --port 50051 --port 8080 --port 9464 \
  --healthcheck 'CMD /usr/local/bin/voxgate probe' \
  --healthcheck-interval 10s --healthcheck-timeout 5s \
  --label org.opencontainers.image.title=voxgate \
  --label org.opencontainers.image.source=https://github.com/voxgate/voxgate \
  --label "org.opencontainers.image.revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  "$container"
buildah commit --quiet --format docker --rm "$container" "$TAG" >/dev/null
trap - EXIT
echo "build_image: $TAG, $(podman image inspect --format '{{.Size}}' "$TAG" 2>/dev/null ||
  buildah inspect --format '{{.FromImageID}}' "$TAG") bytes"
