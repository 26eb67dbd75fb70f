"""The offline image (scripts/build_image.sh) run by podman: it starts as a
non-root user on a read-only root filesystem, answers the gRPC health check
and a Transcribe, its own HEALTHCHECK probe works without a shell, and its
worker pool follows the container's CPU limit. Where this machine cannot
build or run containers, every case is skipped with the reason (never
passed)."""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import socket
import subprocess
import uuid

import pytest

from conftest import CLI_BIN, REPO, TOOLS
from process_harness import wait_for

TAG = "localhost/voxgate:test"
# What this machine's podman needs: runc (crun refuses hybrid cgroups), the
# cgroupfs manager (no systemd) and limits it may set without
# CAP_SYS_RESOURCE. Harmless elsewhere.
PODMAN_RUN = ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs", "run",
              "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def image():
    for tool in ("buildah", "podman"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    built = subprocess.run([str(REPO / "scripts/build_image.sh"), TAG],
                           capture_output=True, text=True, timeout=600)
    if built.returncode != 0:
        pytest.skip(f"this machine cannot build images: {built.stderr[-500:]}")
    probe = subprocess.run(PODMAN_RUN + ["--rm", "--network", "host", TAG, "--help"],
                           capture_output=True, text=True, timeout=120)
    if probe.returncode != 0 or "Usage: voxgate" not in probe.stdout:
        pytest.skip(f"this machine cannot run containers: {probe.stderr[-500:]}")
    yield TAG
    subprocess.run(["podman", "rmi", "-f", TAG], capture_output=True, timeout=120)


class Container:
    def __init__(self, image: str, *extra: str) -> None:
        self.name = f"voxgate-test-{uuid.uuid4().hex[:8]}"
        self.grpc, self.admin = free_port(), free_port()
        subprocess.run(PODMAN_RUN + [
            "-d", "--name", self.name, "--network", "host", "--read-only",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges", *extra, image,
            f"--listen=127.0.0.1:{self.grpc}", f"--admin_listen=127.0.0.1:{self.admin}",
            "--http_listen=off"], check=True, capture_output=True, timeout=120)
        wait_for(lambda: '"serving"' in self.logs(), 60, "the container's serving line")

    def logs(self) -> str:
        return subprocess.run(["podman", "logs", self.name], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=60).stdout

    def serving_line(self) -> dict:
        return json.loads(next(line for line in self.logs().splitlines()
                               if '"serving"' in line))

    def stop(self) -> None:
        subprocess.run(["podman", "rm", "-f", "-t", "10", self.name],
                       capture_output=True, timeout=120)


@pytest.fixture
def container(image):
    running = Container(image)
    yield running
    running.stop()


def test_image_serves_health_and_a_transcription(container, tmp_path):
    health = subprocess.run(
        [str(TOOLS / "bin/grpcurl"), "-plaintext", f"127.0.0.1:{container.grpc}",
         "grpc.health.v1.Health/Check"], capture_output=True, text=True, timeout=60)
    assert '"SERVING"' in health.stdout, health.stderr
    speech = tmp_path / "speech.wav"
    subprocess.run(["flite", "-voice", "slt", "-t", "Please call Stella.", "-o",
                    str(speech)], check=True)
    transcript = subprocess.run(
        [CLI_BIN, f"--address=127.0.0.1:{container.grpc}", "transcribe", str(speech)],
        capture_output=True, text=True, timeout=120)
    assert transcript.returncode == 0, transcript.stderr
    # The embedded engine, running inside the image, hears the sentence.
    assert "please call" in transcript.stdout.lower(), transcript.stdout


def test_image_runs_as_non_root_on_a_read_only_root(image, container):
    inspected = json.loads(subprocess.run(
        ["podman", "image", "inspect", image], capture_output=True, text=True,
        check=True, timeout=60).stdout)[0]
    assert inspected["Config"]["User"] == "65532:65532"
    assert inspected["Healthcheck"]["Test"] == ["CMD", "/usr/local/bin/voxgate", "probe"]
    # No shell, and the root filesystem refuses writes.
    no_shell = subprocess.run(["podman", "exec", container.name, "/bin/sh", "-c", "true"],
                              capture_output=True, text=True, timeout=60)
    assert no_shell.returncode != 0
    status = subprocess.run(["podman", "top", container.name, "user"],
                            capture_output=True, text=True, timeout=60).stdout
    assert "root" not in status.splitlines()[-1], status


def test_the_images_probe_needs_no_shell(container):
    ready = subprocess.run(
        ["podman", "exec", container.name, "/usr/local/bin/voxgate", "probe",
         f"http://127.0.0.1:{container.admin}/readyz"],
        capture_output=True, text=True, timeout=60)
    assert ready.returncode == 0, ready.stderr
    wrong = subprocess.run(
        ["podman", "exec", container.name, "/usr/local/bin/voxgate", "probe",
         f"http://127.0.0.1:{container.admin}/nope"],
        capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 1 and "HTTP 404" in wrong.stderr, wrong.stderr


def test_worker_pool_follows_the_containers_cpu_limit(image):
    limited = Container(image, "--cpus", "1")
    try:
        line = limited.serving_line()
    finally:
        limited.stop()
    assert line["cpu_quota"] == 1.0, line
    assert line["worker_threads"] == 1, line


def test_dockerfile_installs_every_library_the_binary_links():
    needed = subprocess.run([str(REPO / "scripts/build_image.sh"), "--runtime-packages"],
                            capture_output=True, text=True, check=True,
                            timeout=120).stdout.split()
    assert "libavformat59" in needed, needed
    dockerfile = (REPO / "Dockerfile").read_text()
    runtime = dockerfile[dockerfile.index("FROM debian:bookworm-slim"):]
    missing = [p for p in needed if not re.search(rf"\b{re.escape(p)}\b", runtime)
               and p not in ("libc6", "libgcc-s1", "libstdc++6")]
    assert not missing, f"the Dockerfile's runtime stage lacks {missing}"
