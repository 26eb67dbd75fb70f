"""The Kubernetes deliverables: the manifests (rendered by the kustomize API
and decoded strictly into the Kubernetes types), the offline container image
run by podman, and several replicas behaving as one service."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

REPO = pathlib.Path(__file__).resolve().parents[2]
VOXGATE_BIN = os.environ.get("VOXGATE_BIN", str(REPO / "bazel-bin/gateway/voxgate"))
FAKE_BIN = os.environ.get("FAKE_UPSTREAM_BIN",
                          str(REPO / "bazel-bin/tests/fake_upstream/fake_upstream_server"))
CLI_BIN = os.environ.get("VOXGATE_CLI_BIN", str(REPO / "bazel-bin/client/cpp/voxgate-cli"))
TOOLS = pathlib.Path(os.environ.get("VOXGATE_TOOLS",
                                    pathlib.Path.home() / ".cache/voxgate-tools"))


@pytest.fixture(scope="session")
def k8s_check(tmp_path_factory) -> pathlib.Path:
    """k8s/check built from source (its modules come from setup.sh)."""
    binary = tmp_path_factory.mktemp("k8scheck") / "k8scheck"
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=REPO / "k8s/check",
                   check=True)
    return binary


@pytest.fixture
def k8s_copy(tmp_path) -> pathlib.Path:
    """A scratch copy of k8s/ for tests that break a manifest."""
    copy = tmp_path / "k8s"
    shutil.copytree(REPO / "k8s", copy, ignore=shutil.ignore_patterns("check"))
    return copy
