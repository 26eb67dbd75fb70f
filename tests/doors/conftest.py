"""One gateway, the fake upstream behind every pool, and a client per door:
gRPC (the generated Python stubs), the OpenAI routes over HTTP (requests and
SSE) and the WebSocket stream."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
from typing import List

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
REPO = ROOT.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(REPO / "client/python/src"))
from process_harness import FakeUpstream, Process, wait_for  # noqa: E402,F401

VOXGATE_BIN = os.environ.get("VOXGATE_BIN", str(REPO / "bazel-bin/gateway/voxgate"))
FAKE_BIN = os.environ.get("FAKE_UPSTREAM_BIN",
                          str(REPO / "bazel-bin/tests/fake_upstream/fake_upstream_server"))

# Short deadlines and small limits, so every case ends in seconds.
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
  - name: whisper
    protocol: openai_transcriptions
    endpoints: [{{url: "http://127.0.0.1:{port}/v1", max_concurrency: 16}}]
    models: [whisper-1]
    health_check: {{path: ""}}
routing:
  text_pool: llm
  audio_pool: whisper
  model_routes: {{voxtral: voxtral}}
limits:
  default_unary_deadline: 3s
  default_stream_deadline: 4s
  max_stream_duration: 3s
audio:
  max_audio_duration: 3s
  max_chat_audio_duration: 3s
"""


class Fake(FakeUpstream):
    """The fake OpenAI-compatible upstream, scripted through its control
    endpoints."""

    def __init__(self) -> None:
        super().__init__(FAKE_BIN)


class Gateway:
    def __init__(self, fake: Fake) -> None:
        self._config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        self._config.write(CONFIG.format(port=fake.port))
        self._config.close()
        self.process = Process([VOXGATE_BIN, f"--config={self._config.name}",
                                "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
                                "--http_listen=127.0.0.1:0"])
        line = self.process.wait_for_line(r'.*"serving".*', 60).group(0)
        self.grpc_port = int(re.search(r'"grpc_port":(\d+)', line).group(1))
        self.http_port = int(re.search(r'"http_port":(\d+)', line).group(1))
        self.url = f"http://127.0.0.1:{self.http_port}"

    def codes(self, method: str) -> List[str]:
        """The code of every ended call of `method`, from its log line."""
        codes = []
        for line in self.process.output().splitlines():
            if line.startswith("{") and '"msg":"call"' in line:
                record = json.loads(line)
                if record.get("method") == method:
                    codes.append(record["code"])
        return codes

    def stop(self) -> None:
        death = self.process.death()
        self.process.stop()
        os.unlink(self._config.name)
        assert death is None, death


@pytest.fixture(scope="session")
def fake():
    server = Fake()
    yield server
    server.process.stop()


@pytest.fixture
def gateway(fake):
    """A gateway per case: one case's ejected endpoint is not the next's."""
    server = Gateway(fake)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def clean_fake(fake):
    fake.reset()
    yield
    # Whatever a case did, nothing stays open upstream.
    wait_for(lambda: fake.in_flight() == 0, 15, "the fake's requests to end")


def sox(*args: str) -> bytes:
    """A WAV made by sox (16 kHz mono, 16-bit)."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as out:
        subprocess.run(["sox", "-D", "-n", "-r", "16000", "-c", "1", "-b", "16", out.name,
                        *args], check=True)
        return pathlib.Path(out.name).read_bytes()


@pytest.fixture(scope="session")
def short_wav() -> bytes:
    return sox("synth", "1", "sine", "440")


@pytest.fixture(scope="session")
def long_wav() -> bytes:
    """Longer than every audio limit of the config (3 s)."""
    return sox("synth", "5", "sine", "440")
