"""Big audio against real processes on loopback: the voxgate binary in front
of the fake OpenAI-compatible upstream (which describes each chunk it gets),
with files made at test time by flite, sox and the ffmpeg CLI.

Every wait is for an event (a log line, a file descriptor, a progress report)
with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import http.server
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import threading
import urllib.request
from typing import List

import pytest

HERE = pathlib.Path(__file__).resolve()
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(REPO / "client/python/src"))
from process_harness import Process, Redis, peak_rss_bytes, wait_for  # noqa: E402,F401

VOXGATE_BIN = os.environ.get("VOXGATE_BIN", str(REPO / "bazel-bin/gateway/voxgate"))
CLI_BIN = os.environ.get("VOXGATE_CLI_BIN", str(REPO / "bazel-bin/client/cpp/voxgate-cli"))
FAKE_BIN = os.environ.get("FAKE_UPSTREAM_BIN",
                          str(REPO / "bazel-bin/tests/fake_upstream/fake_upstream_server"))

# What the fake answers for each chunk it gets.
CHUNK_ANSWER_TEXT = "at 16000 Hz 1 ch"

# Big enough for the three-hour file (216 MB), and no bigger.
MAX_AUDIO_BYTES = 256 << 20


def run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def speech_with_pauses(work: pathlib.Path) -> pathlib.Path:
    """About a minute of flite speech, each sentence followed by a pause."""
    sentences = [
        "The quarterly meeting covered the budget, hiring and the new office.",
        "Revenue grew in every region except the north, where two stores closed.",
        "We will hire four engineers and one designer before the summer.",
        "The office move is planned for September, after the lease ends.",
        "Questions about travel should go to the operations team directly.",
        "Thanks everyone, and see you at the same time next week.",
    ]
    parts: List[str] = []
    silence = work / "pause.wav"
    run("sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(silence), "trim", "0", "1.5")
    for i, sentence in enumerate(sentences):
        raw, speech = work / f"raw{i}.wav", work / f"speech{i}.wav"
        run("flite", "-t", sentence, "-o", str(raw))
        run("sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(speech))
        parts += [str(speech), str(silence)]
    base = work / "base.wav"
    run("sox", *parts, str(base))
    return base


def mp3_of(base: pathlib.Path, minutes: int, out: pathlib.Path) -> pathlib.Path:
    """`minutes` of the base speech as 160 kb/s MP3 at 16 kHz (about 1.2 MB a
    minute), without a Xing header so that copies can be joined."""
    run("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "-1",
        "-i", str(base), "-t", str(minutes * 60), "-c:a", "libmp3lame", "-b:a", "160k",
        "-write_xing", "0", str(out))
    return out


class Fake:
    def __init__(self) -> None:
        self.process = Process([FAKE_BIN])
        self.port = int(self.process.wait_for_line(r'"port": (\d+)', 30).group(1))

    def default(self, **behavior) -> None:
        """Sets how the fake answers from now on (see FakeBehavior)."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/_fake/default", data=json.dumps(behavior).encode(),
            headers={"content-type": "application/json"}, method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def script(self, path: str, times: int, **behavior) -> None:
        """The next `times` requests to `path` get `behavior`."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/_fake/script",
            data=json.dumps({"path": path, "times": times, "behavior": behavior}).encode(),
            headers={"content-type": "application/json"}, method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def in_flight(self) -> int:
        with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/_fake/stats", timeout=10) as reply:
            return json.load(reply)["in_flight"]


class Gateway:
    """The voxgate binary on free ports, its spool folder (TMPDIR) its own."""

    def __init__(self, fake: Fake, spool: pathlib.Path, fetch: str = "{}",
                 max_spool_bytes: int = 0, extra: str = "", audio_extra: str = "") -> None:
        self.spool = spool
        self._config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        self._config.write(f"""audio: {{max_audio_bytes: {MAX_AUDIO_BYTES}, fetch: {fetch},
        max_spool_bytes: {max_spool_bytes}{", " + audio_extra if audio_extra else ""}}}
pools:
  - name: whisper
    protocol: openai_transcriptions
    endpoints: [{{url: "http://127.0.0.1:{fake.port}/v1", max_concurrency: 16}}]
    models: [whisper-1]
    health_check: {{path: ""}}
routing: {{audio_pool: whisper}}
{extra}
""")
        self._config.close()
        self.process = Process([VOXGATE_BIN, f"--config={self._config.name}",
                                "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
                                "--http_listen=127.0.0.1:0"],
                               env={**os.environ, "TMPDIR": str(spool)})
        line = self.process.wait_for_line(r'.*"serving".*', 60).group(0)
        self.port = int(re.search(r'"grpc_port":(\d+)', line).group(1))
        self.admin_port = int(re.search(r'"admin_port":(\d+)', line).group(1))
        self.address = f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.process.pid

    def peak_rss_bytes(self) -> int:
        return peak_rss_bytes(self.pid)

    def spool_files(self) -> List[str]:
        """Open files of the gateway in its spool folder (unlinked, so their
        links read "<folder>/#inode (deleted)")."""
        found = []
        for fd in pathlib.Path(f"/proc/{self.pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue  # closed meanwhile
            if target.startswith(str(self.spool)):
                found.append(target)
        return found

    def metric(self, name: str) -> float:
        with urllib.request.urlopen(
                f"http://127.0.0.1:{self.admin_port}/metrics", timeout=10) as reply:
            text = reply.read().decode()
        match = re.search(rf"^{name} (\S+)$", text, re.M)
        return float(match.group(1)) if match else float("nan")

    def stop(self) -> None:
        death = self.process.death()
        self.process.stop()
        os.unlink(self._config.name)
        assert death is None, death


class Handler(http.server.BaseHTTPRequestHandler):
    audio = b""

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        port = self.server.server_address[1]
        path = self.path.split("?")[0]
        redirects = {
            "/relative": "/speech.mp3",
            "/to-localhost": f"http://localhost:{port}/speech.mp3",
            "/to-private": "http://10.255.255.1/speech.mp3",
            "/to-metadata": "http://169.254.169.254/latest/meta-data/",
            "/loop": "/loop",
        }
        if path == "/speech.mp3":
            self.send_response(200)
            self.send_header("content-length", str(len(self.audio)))
            self.end_headers()
            self.wfile.write(self.audio)
        elif path in redirects:
            self.send_response(302)
            self.send_header("location", redirects[path])
            self.send_header("content-length", "0")
            self.end_headers()
        elif path == "/huge":
            self.send_response(200)
            self.send_header("content-length", str(1 << 40))
            self.end_headers()
            self.wfile.write(b"\0" * 1024)
        else:
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def audio_server(work, base_speech):
    """A local HTTP server of one minute of MP3 at /speech.mp3, and redirects."""
    Handler.audio = mp3_of(base_speech, 1, work / "one_minute.mp3").read_bytes()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def work(tmp_path_factory) -> pathlib.Path:
    return tmp_path_factory.mktemp("big_audio")


@pytest.fixture(scope="session")
def fake():
    server = Fake()
    yield server
    server.process.stop()


@pytest.fixture(scope="session")
def gateway(fake, work):
    spool = work / "spool"
    spool.mkdir()
    server = Gateway(fake, spool)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def base_speech(work) -> pathlib.Path:
    return speech_with_pauses(work)


@pytest.fixture(scope="session")
def ten_minute_mp3(work, base_speech) -> pathlib.Path:
    return mp3_of(base_speech, 10, work / "ten_minutes.mp3")


@pytest.fixture(scope="session")
def client(gateway):
    import voxgate
    with voxgate.Client(gateway.address, timeout_s=600) as connection:
        yield connection
