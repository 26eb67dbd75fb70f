# syntax=docker/dockerfile:1
# The gateway's image for machines with registry access:
#   docker build -t voxgate .      (or: podman build -t voxgate .)
# Offline (no base image from any registry), scripts/build_image.sh builds the
# same runtime with buildah FROM scratch; tests/kubernetes runs that one.

FROM debian:bookworm AS build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
COPY scripts/setup.sh scripts/setup.sh
# The build half of scripts/setup.sh: Debian's Bazel 4.2.3 and the C++ libraries.
RUN apt-get update -qq && apt-get install -y -qq sudo >/dev/null && ./scripts/setup.sh
COPY . .
RUN bazel build -c opt //gateway:voxgate \
 && install -D -m 0755 -s bazel-bin/gateway/voxgate /out/usr/local/bin/voxgate \
 && bazel shutdown

FROM debian:bookworm-slim
# Exactly the libraries the binary links (scripts/build_image.sh
# --runtime-packages; tests/kubernetes checks this list), the embedded
# engine's model and CA certificates. No shell is needed at run time.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      libabsl20220623 libavcodec59 libavformat59 libavutil57 libswresample4 \
      libcurl4 libebur128-1 libgrpc++1.51 libgrpc29 libhiredis0.14 \
      libpocketsphinx3 libsphinxbase3 pocketsphinx-en-us \
      libprometheus-cpp-core1.0 libprotobuf32 libssl3 \
      libyaml-cpp0.7 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 65532 voxgate \
 && useradd --uid 65532 --gid 65532 --no-create-home --shell /usr/sbin/nologin voxgate
COPY --from=build /out/ /
USER 65532:65532
EXPOSE 50051 8080 9464
# The admin port is plaintext unless tls.admin (then pass the probe
# https://127.0.0.1:9464/readyz); `voxgate probe` needs no shell or curl. Drain: SIGTERM, with server.drain_delay instead of a sleep.
HEALTHCHECK --interval=10s --timeout=5s --retries=3 CMD ["/usr/local/bin/voxgate", "probe"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/voxgate"]
