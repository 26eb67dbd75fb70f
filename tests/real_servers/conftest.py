"""Real model servers on loopback, each started by its fixture: llama.cpp's
llama-server with SmolLM2-135M-Instruct, faster-whisper-server with Whisper
tiny.en, and the voxgate binary in front of them.

scripts/setup_model_servers.sh builds or installs them into the tools cache;
its --print-env output (or LLAMA_SERVER, LLAMA_MODEL, LLAMA_TOOL_TEMPLATE,
WHISPER_SERVER and WHISPER_MODEL in the environment) says where. Every wait
here is for an event (a port answering, a log line, a health state) with a
deadline, never a fixed sleep.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from typing import Callable, Dict, List, Optional

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from voxgate.v1 import service_pb2_grpc

import sys
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from process_harness import Process, wait_for  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]
VOXGATE_BIN = os.environ.get("VOXGATE_BIN", str(REPO / "bazel-bin/gateway/voxgate"))
LIBRIVOX = pathlib.Path("/usr/share/pocketsphinx/test/data/librivox")


def _server_paths() -> Dict[str, str]:
    names = ["LLAMA_SERVER", "LLAMA_MODEL", "LLAMA_TOOL_TEMPLATE", "WHISPER_SERVER",
             "WHISPER_MODEL"]
    paths = {name: os.environ[name] for name in names if os.environ.get(name)}
    if len(paths) < len(names):
        output = subprocess.run(
            [str(REPO / "scripts/setup_model_servers.sh"), "--print-env"],
            check=True, capture_output=True, text=True).stdout
        for line in output.splitlines():
            key, _, value = line.partition("=")
            paths.setdefault(key, value)
    return paths


PATHS = _server_paths()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


def post_json(url: str, body: dict, timeout_s: float = 120) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        return {"http_status": error.code, "error": json.loads(error.read() or b"{}")}


class LlamaServer:
    """llama-server with SmolLM2-135M-Instruct: 4 slots of 512 tokens, one
    thread, the model's own chat template, or with `tools` the Functionary v3.2
    one, whose tool-call format this llama.cpp enforces with a grammar (it
    refuses plain answers that do not follow it, so it is for tool calls only)."""

    SLOT_CONTEXT = 512

    def __init__(self, port: Optional[int] = None, tools: bool = False) -> None:
        self.tools = tools
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.process: Optional[Process] = None

    def start(self) -> "LlamaServer":
        self.process = Process([
            PATHS["LLAMA_SERVER"], "-m", PATHS["LLAMA_MODEL"], "--host", "127.0.0.1",
            "--port", str(self.port), "-c", str(4 * self.SLOT_CONTEXT), "-np", "4",
            "-t", "1", "--jinja", "--no-webui",
            *(["--chat-template-file", PATHS["LLAMA_TOOL_TEMPLATE"]] if self.tools else [])])
        wait_for(lambda: self._healthy(), 120, "llama-server /health")
        return self

    def _healthy(self) -> bool:
        if self.process.process.poll() is not None:
            raise AssertionError(f"llama-server exited: {self.process.output()[-2000:]}")
        return http_ok(f"http://127.0.0.1:{self.port}/health")

    @property
    def model_id(self) -> str:
        with urllib.request.urlopen(f"{self.base_url}/models", timeout=10) as response:
            return json.load(response)["data"][0]["id"]

    def chat(self, body: dict) -> dict:
        return post_json(f"{self.base_url}/chat/completions", body)

    def kill(self) -> None:
        self.process.kill()


class Gateway:
    """The voxgate binary on free ports, with the given flags."""

    def __init__(self, flags: List[str], config: Optional[str] = None) -> None:
        argv = [VOXGATE_BIN, "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0", "--http_listen=127.0.0.1:0", *flags]
        self._config_path = None
        if config is not None:
            with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as file:
                file.write(config)
            self._config_path = file.name
            argv.append(f"--config={file.name}")
        self.process = Process(argv)
        line = self.process.wait_for_line(r'.*"serving".*', 60).group(0)
        grpc_port = re.search(r'"grpc_port":(\d+)', line).group(1)
        admin_port = re.search(r'"admin_port":(\d+)', line).group(1)
        self.address = f"127.0.0.1:{grpc_port}"
        self.admin = f"http://127.0.0.1:{admin_port}"
        self.channel = grpc.insecure_channel(self.address)
        self.stub = service_pb2_grpc.VoxgateServiceStub(self.channel)

    def pool_serving(self, pool: str) -> bool:
        try:
            reply = health_pb2_grpc.HealthStub(self.channel).Check(
                health_pb2.HealthCheckRequest(service=f"voxgate.pool.{pool}"), timeout=5)
        except grpc.RpcError:
            return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    def stop(self) -> None:
        self.channel.close()
        self.process.stop()
        if self._config_path:
            os.unlink(self._config_path)


LLAMA_CONFIG = """
pools:
  - name: text
    protocol: openai_chat
    endpoints: [{{url: "{url}", max_concurrency: 4}}]
    health_check: {{path: /health, interval: 1s, timeout: 1s}}
  - name: audio
    protocol: embedded
routing:
  text_pool: text
  audio_pool: audio
"""


@pytest.fixture(scope="module")
def llama():
    server = LlamaServer().start()
    yield server
    server.process.stop()


@pytest.fixture(scope="module")
def llama_gateway(llama):
    gateway = Gateway([], LLAMA_CONFIG.format(url=llama.base_url))
    wait_for(lambda: gateway.pool_serving("text"), 60, "pool text SERVING")
    yield gateway
    gateway.stop()


TOOLS_CONFIG = """
pools:
  - name: tools
    protocol: openai_chat
    endpoints: [{{url: "{tools_url}", max_concurrency: 4}}]
    health_check: {{path: /health, interval: 1s, timeout: 1s}}
  - name: text
    protocol: openai_chat
    endpoints: [{{url: "{text_url}", max_concurrency: 4}}]
    health_check: {{path: /health, interval: 1s, timeout: 1s}}
routing:
  text_pool: text
"""


@pytest.fixture(scope="module")
def tools_gateway(llama):
    """A gateway with two pools: "tools", a llama-server started for tool calls
    (whose template refuses plain answers), and "text", the plain one."""
    server = LlamaServer(tools=True).start()
    gateway = Gateway([], TOOLS_CONFIG.format(tools_url=server.base_url,
                                              text_url=llama.base_url))
    wait_for(lambda: gateway.pool_serving("tools") and gateway.pool_serving("text"), 60,
             "pools tools and text SERVING")
    yield gateway
    gateway.stop()
    server.process.stop()


def librivox_clips() -> List[tuple]:
    """(wav path, reference words) of the five LibriVox clips."""
    clips = []
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        match = re.match(r"<s> (.*) </s> \((.*)\)", line)
        if match:
            clips.append((LIBRIVOX / f"{match.group(2)}.wav", match.group(1)))
    return clips


def normalize(text: str) -> List[str]:
    """Lower case words without punctuation; 'mr' as the reference spells it."""
    words = re.sub(r"[^a-z0-9' ]", " ", text.lower().replace("-", " ")).split()
    return ["mister" if word in ("mr", "mr.") else word for word in words]


def word_errors(reference: List[str], hypothesis: List[str]) -> int:
    """Levenshtein distance over words."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp in enumerate(hypothesis, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1,
                             previous[j - 1] + (ref != hyp))
        previous = current
    return previous[-1]


def wer(references: List[str], hypotheses: List[str]) -> float:
    errors = sum(word_errors(normalize(r), normalize(h))
                 for r, h in zip(references, hypotheses))
    return errors / sum(len(normalize(r)) for r in references)


def transcode(wav: pathlib.Path, args: List[str], extension: str) -> bytes:
    with tempfile.TemporaryDirectory() as work:
        out = os.path.join(work, f"clip.{extension}")
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), *args, out],
                       check=True)
        return pathlib.Path(out).read_bytes()


@contextlib.contextmanager
def started(process_factory):
    process = process_factory()
    try:
        yield process
    finally:
        process.stop()
