"""What the Python suites against real processes share: waiting for an event
with a deadline, child processes whose output is drained and searched, free
ports, and a throwaway redis-server."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from typing import Callable, List, Optional


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str,
             poll_s: float = 0.05) -> None:
    """Polls `condition` until it holds; fails naming `what` at the deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")



def peak_rss_bytes(pid: int) -> int:
    """VmHWM: the most resident memory process `pid` has had."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for process {pid}")


class Process:
    """A child process whose output is drained into a buffer (so it never
    blocks on a full pipe) and can be waited on for a line."""

    def __init__(self, argv: List[str], env: Optional[dict] = None) -> None:
        self.argv = argv
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True,
                                        env=env, start_new_session=True)
        self.lines: List[str] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for line in self.process.stdout:
            with self._lock:
                self.lines.append(line)

    def output(self) -> str:
        with self._lock:
            return "".join(self.lines)

    def wait_for_line(self, pattern: str, timeout_s: float) -> re.Match:
        found: List[re.Match] = []

        def seen() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.argv[0]} exited: {self.output()[-2000:]}")
            match = re.search(pattern, self.output())
            if match:
                found.append(match)
            return bool(found)

        wait_for(seen, timeout_s, f"{pattern!r} from {self.argv[0]}")
        return found[0]

    def death(self) -> Optional[str]:
        """Why the process is gone when nobody stopped it (exit status and
        the end of its output, which holds the crash's stack), else None."""
        code = self.process.poll()
        if code is None:
            return None
        return f"{self.argv[0]} exited by itself with {code}:\n{self.output()[-6000:]}"

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Redis:
    """redis-server on a free port, without persistence; kill and restart it on
    the same port to play an outage."""

    def __init__(self, *options: str) -> None:
        self.port = free_port()
        self.options = list(options)  # e.g. "--maxmemory", "4mb"
        self.start()

    def start(self) -> None:
        self.process = Process(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", *self.options])
        self.process.wait_for_line(r"Ready to accept connections", 30)

    def cli(self, *args: str, stdin: bytes = b"") -> str:
        """One redis-cli command; its answer."""
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], input=stdin,
                              capture_output=True, check=True).stdout.decode().strip()

    def fill(self) -> None:
        """Puts Redis past its maxmemory for good: 2 MiB of data, then a
        maxmemory of 1 MiB (with noeviction every write is refused with OOM
        from then on; at the very edge of the limit some small writes would
        still pass)."""
        for index in range(8):
            self.cli("-x", "SET", f"filler:{index}", stdin=b"x" * (256 << 10))
        self.cli("CONFIG", "SET", "maxmemory", "1mb")
        assert "OOM" in self.cli("SET", "probe", "1"), "Redis still takes writes"

    def kill(self) -> None:
        self.process.kill()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


class FakeUpstream:
    """The project's fake OpenAI-compatible upstream (tests/fake_upstream) as a
    process, scripted through its control endpoints."""

    def __init__(self, binary: str) -> None:
        self.process = Process([binary])
        self.port = int(self.process.wait_for_line(r'"port": (\d+)', 30).group(1))

    def post(self, path: str, body: dict) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=json.dumps(body).encode(),
            headers={"content-type": "application/json"}, method="POST")
        urllib.request.urlopen(request, timeout=10).read()

    def script(self, behavior: dict, times: int = 1,
               path: str = "/v1/chat/completions") -> None:
        self.post("/_fake/script", {"path": path, "behavior": behavior, "times": times})

    def requests(self) -> list:
        with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/_fake/requests", timeout=10) as reply:
            return json.load(reply)

    def in_flight(self) -> int:
        with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/_fake/stats", timeout=10) as reply:
            return json.load(reply)["in_flight"]

    def reset(self) -> None:
        self.post("/_fake/reset", {})
