"""The HTTP front door with real clients: the official openai SDK, curl, raw
sockets, a WebSocket client and headless Chromium, against the voxgate binary
on loopback. Chat goes to the fake OpenAI-compatible upstream (scriptable
faults); audio to the embedded engine, so recognised text is real.

Every wait is for an event (a log line, a socket closing, a page counter)
with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from typing import Callable, List, Optional

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from process_harness import FakeUpstream, Process, wait_for  # noqa: E402,F401

REPO = pathlib.Path(__file__).resolve().parents[2]
VOXGATE_BIN = os.environ.get("VOXGATE_BIN", str(REPO / "bazel-bin/gateway/voxgate"))
FAKE_BIN = os.environ.get("FAKE_UPSTREAM_BIN",
                          str(REPO / "bazel-bin/tests/fake_upstream/fake_upstream_server"))
SENTENCE = "Please call Stella."

CONFIG = """
pools:
  - name: llm
    protocol: openai_chat
    endpoints: [{{url: "http://127.0.0.1:{port}/v1", max_concurrency: 16}}]
    models: [llama3]
    health_check: {{path: ""}}
  - name: voxtral
    protocol: openai_chat_audio
    endpoints: [{{url: "http://127.0.0.1:{port}/v1", max_concurrency: 16}}]
    models: [voxtral]
    health_check: {{path: ""}}
  - name: embedded
    protocol: embedded
routing:
  text_pool: llm
  audio_pool: embedded
  model_routes: {{voxtral: voxtral}}
http:
  header_timeout: 2s
  body_timeout: 5s
  max_header_bytes: 8192
  max_websocket_message_bytes: 65536
{extra}
"""


class Fake(FakeUpstream):
    """The fake OpenAI-compatible upstream, scripted through its control
    endpoints."""

    def __init__(self) -> None:
        super().__init__(FAKE_BIN)


class Gateway:
    """The voxgate binary on free ports in front of the fake."""

    def __init__(self, fake: Fake, extra: str = "", prefix: List[str] = ()) -> None:
        """`extra`: more of the config's http section; `prefix`: a command
        the binary runs under (prlimit)."""
        self._config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        self._config.write(CONFIG.format(port=fake.port, extra=extra))
        self._config.close()
        self.process = Process([*prefix, VOXGATE_BIN, f"--config={self._config.name}",
                                "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
                                "--http_listen=127.0.0.1:0"])
        line = self.process.wait_for_line(r'.*"serving".*', 60).group(0)
        self.http_port = int(re.search(r'"http_port":(\d+)', line).group(1))
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.api = f"{self.url}/v1"

    def log_lines(self, method: str) -> List[dict]:
        lines = []
        for line in self.process.output().splitlines():
            if line.startswith("{") and '"msg":"call"' in line:
                record = json.loads(line)
                if record.get("method") == method:
                    lines.append(record)
        return lines

    def stop(self) -> None:
        death = self.process.death()
        self.process.stop()
        os.unlink(self._config.name)
        # A gateway that crashed mid-suite fails every later test with
        # "connection refused"; this says where it died.
        assert death is None, death


@pytest.fixture(scope="session")
def fake():
    server = Fake()
    yield server
    server.process.stop()


@pytest.fixture(scope="session")
def gateway(fake):
    server = Gateway(fake)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def clean_fake(request):
    if "fake" in request.fixturenames:
        request.getfixturevalue("fake").reset()


def flite(text: str, path: str) -> None:
    subprocess.run(["flite", "-voice", "slt", "-t", text, "-o", path], check=True)


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory) -> pathlib.Path:
    """SENTENCE between pauses, 16 kHz mono WAV."""
    work = tmp_path_factory.mktemp("speech")
    spoken = work / "spoken.wav"
    flite(SENTENCE, str(spoken))
    silence = work / "silence.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(silence),
                    "trim", "0", "1.0"], check=True)
    joined = work / "speech.wav"
    subprocess.run(["sox", str(silence), str(spoken), str(silence), str(silence),
                    "-r", "16000", str(joined)], check=True)
    return joined


def words(text: str) -> List[str]:
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


def word_errors(reference: List[str], hypothesis: List[str]) -> int:
    """Levenshtein distance over words."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]
