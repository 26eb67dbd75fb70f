"""Starts the real voxgate binary and the fake OpenAI-compatible upstream (both
built by Bazel; VOXGATE_BIN and FAKE_UPSTREAM_BIN override the paths) once per
test session, and gives tests a controller for the fake."""

from __future__ import annotations

import io
import json
import math
import os
import pathlib
import re
import struct
import subprocess
import tempfile
import threading
import time
import urllib.request
import wave

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
VOXGATE_BIN = os.environ.get("VOXGATE_BIN", str(REPO / "bazel-bin/gateway/voxgate"))
FAKE_BIN = os.environ.get("FAKE_UPSTREAM_BIN",
                          str(REPO / "bazel-bin/tests/fake_upstream/fake_upstream_server"))

CONFIG = """
pools:
  - name: whisper
    protocol: openai_transcriptions
    endpoints: [{{url: "http://127.0.0.1:{port}/v1", max_concurrency: 16}}]
    models: [whisper-1]
    health_check: {{path: ""}}
  - name: voxtral
    protocol: openai_chat_audio
    endpoints: [{{url: "http://127.0.0.1:{port}/v1"}}]
    models: [voxtral]
    health_check: {{path: ""}}
  - name: llm
    protocol: openai_chat
    endpoints: [{{url: "http://127.0.0.1:{port}/v1"}}]
    models: [llama3]
    health_check: {{path: ""}}
routing:
  audio_pool: whisper
  text_pool: llm
"""


class Fake:
    """Scripts the fake upstream through its control endpoints."""

    def __init__(self, port: int) -> None:
        self.port = port

    def _post(self, path: str, body: dict) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=json.dumps(body).encode(),
            headers={"content-type": "application/json"}, method="POST")
        urllib.request.urlopen(request, timeout=5).read()

    def reset(self) -> None:
        self._post("/_fake/reset", {})

    def default(self, **behavior) -> None:
        self._post("/_fake/default", behavior)

    def script(self, path: str, times: int = 1, **behavior) -> None:
        self._post("/_fake/script", {"path": path, "times": times, "behavior": behavior})

    def requests(self) -> list:
        with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/_fake/requests", timeout=5) as response:
            return json.load(response)


@pytest.fixture(scope="session")
def fake():
    process = subprocess.Popen([FAKE_BIN], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    port = json.loads(process.stdout.readline())["port"]
    yield Fake(port)
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def gateway(fake):
    """The gateway's address."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as config:
        config.write(CONFIG.format(port=fake.port))
    process = subprocess.Popen(
        [VOXGATE_BIN, f"--config={config.name}", "--listen=127.0.0.1:0",
         "--admin_listen=127.0.0.1:0", "--http_listen=127.0.0.1:0"], stderr=subprocess.PIPE, text=True)
    port = None
    deadline = time.monotonic() + 30
    while port is None and time.monotonic() < deadline:
        line = process.stderr.readline()
        match = re.search(r'"grpc_port":(\d+)', line)
        if match:
            port = int(match.group(1))
    assert port, "voxgate did not start"
    # Keep draining its log so it never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()
    yield f"127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)
    os.unlink(config.name)


@pytest.fixture(autouse=True)
def clean_fake(fake):
    fake.reset()
    yield


def tone_wav(seconds: float, rate: int = 16000, frequency: float = 440.0,
             silence_after: float = 0.0) -> bytes:
    """A tone (loud enough to count as speech for the VAD), then silence."""
    frames = bytearray()
    for i in range(int(seconds * rate)):
        frames += struct.pack("<h", int(12000 * math.sin(2 * math.pi * frequency * i / rate)))
    frames += b"\0\0" * int(silence_after * rate)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(frames))
    return buffer.getvalue()


@pytest.fixture(scope="session")
def speech_wav() -> bytes:
    """Two utterances with pauses, made by flite and sox, as 16 kHz mono WAV."""
    with tempfile.TemporaryDirectory() as work:
        parts = []
        for i, text in enumerate(["Please call Stella.", "We also need a snake."]):
            path = os.path.join(work, f"{i}.wav")
            subprocess.run(["flite", "-voice", "slt", "-t", text, "-o", path], check=True)
            parts.append(path)
        silence = os.path.join(work, "silence.wav")
        subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", silence,
                        "trim", "0", "1.0"], check=True)
        joined = os.path.join(work, "joined.wav")
        subprocess.run(["sox", silence, parts[0], silence, parts[1], silence,
                        "-r", "16000", joined], check=True)
        return pathlib.Path(joined).read_bytes()
