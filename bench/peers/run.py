#!/usr/bin/env python3
"""Voxgate side by side with LiteLLM and Portkey: the same fake upstream, the
same HTTP load generator (vegeta), the same request, one after the other in
one run.

Every gateway under test runs alone on core 0 (taskset); the load generator
and the fake (nginx answering a fixed completion, plain and SSE, with no
added latency) share core 1. For each target:

- open loop at fixed rates (vegeta; ghz for Voxgate's gRPC door): success
  rate and p50/p90/p99 latency, added latency against direct-to-fake at the
  same rate; a target's series stops after a rate where it failed > 1 %;
- closed loop: the highest rate at < 1 % errors (64 connections);
- the gateway's CPU seconds per 1,000 requests (its process tree's
  utime + stime over the open-loop runs it passed);
- for streaming (HTTP doors), time to first token at 100 concurrent streams.

    bazel build -c opt //gateway:voxgate
    python3 bench/peers/run.py [--duration 10] [--rates 100,500,1000,2000,5000]

It first runs bench/peers/install.sh (idempotent: the peers, vegeta, ghz and
matplotlib into the tools cache, pinned).

Writes bench/peers/results.json and bench/peers/p99_vs_rate.png, and prints
the Markdown tables bench/README.md shows.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Callable, Dict, List, Optional

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
TOOLS = pathlib.Path(os.environ.get("VOXGATE_TOOLS", pathlib.Path.home() / ".cache/voxgate-tools"))
PEERS = TOOLS / "peers"
GATEWAY_CORE, LOAD_CORE = "0", "1"
MODEL = "bench-model"
COMPLETION = {
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": MODEL,
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the fake."},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14},
}
REQUEST = {"model": MODEL, "messages": [{"role": "user", "content": "Say hello."}],
           "max_tokens": 16}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sse_body() -> str:
    chunks = []
    for i, piece in enumerate(["Hello", " from", " the", " fake."]):
        delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
        chunks.append({"id": "chatcmpl-bench", "object": "chat.completion.chunk",
                       "created": 1700000000, "model": MODEL,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    chunks.append({"id": "chatcmpl-bench", "object": "chat.completion.chunk",
                   "created": 1700000000, "model": MODEL,
                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                   "usage": COMPLETION["usage"]})
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


def nginx_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


class Process:
    """A child pinned to a core, in its own process group; its stderr and
    stdout go to a log file."""

    def __init__(self, argv: List[str], core: str, log: pathlib.Path,
                 env: Optional[dict] = None, cwd: Optional[str] = None) -> None:
        self.log = log
        self.proc = subprocess.Popen(["taskset", "-c", core, *argv], stdout=open(log, "wb"),
                                     stderr=subprocess.STDOUT, env=env or os.environ.copy(),
                                     cwd=cwd, start_new_session=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def cpu_seconds(self) -> float:
        """utime + stime of the process and every descendant alive now."""
        ticks = os.sysconf("SC_CLK_TCK")
        children: Dict[int, List[int]] = {}
        stats: Dict[int, List[str]] = {}
        for entry in pathlib.Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid = int(entry.name)
            stats[pid] = fields
            children.setdefault(int(fields[1]), []).append(pid)
        total, todo = 0.0, [self.proc.pid]
        while todo:
            pid = todo.pop()
            if pid in stats:
                total += (int(stats[pid][11]) + int(stats[pid][12])) / ticks
            todo += children.get(pid, [])
        return total

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str,
               process: Optional[Process] = None) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if process is not None and not process.alive():
            raise RuntimeError(f"{what}: the process exited: {process.log.read_text()[-2000:]}")
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what}: not within {timeout_s} s")


def answers(url: str, headers: Dict[str, str], body: dict) -> bool:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=5) as reply:
        return reply.status == 200 and b"Hello" in reply.read()


def serves(url: str, headers: Dict[str, str], upstream: str) -> bool:
    """Whether a gateway in front of `upstream` answers a chat completion (a
    streamed one when the upstream is the SSE fake)."""
    return answers(url, headers, {**REQUEST, "stream": upstream.endswith("/sse/v1")})


class Fake:
    """nginx with one worker on the load core: /plain/v1 answers a fixed
    completion, /sse/v1 the same as a stream, both at once."""

    def __init__(self, work: pathlib.Path) -> None:
        self.port = free_port()
        prefix = work / "nginx"
        prefix.mkdir()
        conf = prefix / "nginx.conf"
        conf.write_text(f"""
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_buffer_size 64k;
  server {{
    listen 127.0.0.1:{self.port} backlog=4096;
    location /plain/v1/chat/completions {{
      default_type application/json;
      return 200 {nginx_quote(json.dumps(COMPLETION))};
    }}
    location /sse/v1/chat/completions {{
      default_type text/event-stream;
      return 200 {nginx_quote(sse_body())};
    }}
    location / {{
      default_type application/json;
      return 200 '{{"object": "list", "data": [{{"id": "{MODEL}", "object": "model"}}]}}';
    }}
  }}
}}
""")
        self.process = Process(["nginx", "-p", str(prefix), "-c", str(conf), "-g",
                                "daemon off;"], LOAD_CORE, work / "nginx.log")
        wait_until(lambda: answers(self.plain + "/chat/completions", {}, REQUEST), 10,
                   "nginx fake", self.process)

    @property
    def plain(self) -> str:
        return f"http://127.0.0.1:{self.port}/plain/v1"

    @property
    def sse(self) -> str:
        return f"http://127.0.0.1:{self.port}/sse/v1"


class Target:
    """A gateway (or the fake itself) as the load generators see it."""

    name = ""
    version = ""
    command = ""
    grpc = False

    def start(self, upstream: str) -> None:
        """Starts it (again) in front of `upstream` (the fake's plain or SSE
        base URL)."""

    def url(self) -> str:
        raise NotImplementedError

    def headers(self, upstream: str) -> Dict[str, str]:
        return {}

    def cpu_seconds(self) -> Optional[float]:
        return self.process.cpu_seconds() if self.process else None

    def stop(self) -> None:
        if self.process:
            self.process.stop()
            self.process = None

    process: Optional[Process] = None


class Direct(Target):
    name, version, command = "direct to the fake", "nginx 1.22 (Debian)", "no gateway"

    def __init__(self, fake: Fake) -> None:
        self.fake = fake
        self.base = fake.plain

    def start(self, upstream: str) -> None:
        self.base = upstream

    def url(self) -> str:
        return self.base + "/chat/completions"


def voxgate_binary() -> pathlib.Path:
    out = subprocess.run(["bazel", "info", "-c", "opt", "bazel-bin"], cwd=REPO,
                         capture_output=True, text=True).stdout.strip()
    path = pathlib.Path(os.environ.get("VOXGATE_BIN", f"{out}/gateway/voxgate"))
    if not path.exists():
        sys.exit(f"{path} is missing: bazel build -c opt //gateway:voxgate")
    return path


class Voxgate(Target):
    def __init__(self, work: pathlib.Path, grpc: bool) -> None:
        self.work, self.grpc = work, grpc
        self.name = "Voxgate gRPC (ghz)" if grpc else "Voxgate HTTP"
        self.binary = voxgate_binary()
        self.version = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                      capture_output=True, text=True).stdout.strip()

    def start(self, upstream: str) -> None:
        self.stop()
        self.grpc_port, self.http_port = free_port(), free_port()
        argv = [str(self.binary), f"--text_base_url={upstream}", f"--text_model={MODEL}",
                f"--listen=127.0.0.1:{self.grpc_port}", "--admin_listen=127.0.0.1:0",
                f"--http_listen=127.0.0.1:{self.http_port}"]
        self.command = " ".join(["voxgate"] + argv[1:2] + argv[2:3])
        self.process = Process(argv, GATEWAY_CORE, self.work / "voxgate.log")
        wait_until(lambda: serves(self.url(), {}, upstream), 30, "voxgate", self.process)

    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/v1/chat/completions"


class LiteLLM(Target):
    def __init__(self, work: pathlib.Path, workers: int) -> None:
        self.work, self.workers = work, workers
        self.name = f"LiteLLM ({workers} worker{'s' if workers > 1 else ''})"
        self.venv = PEERS / "litellm"
        self.version = "litellm " + subprocess.run(
            [str(self.venv / "bin/python"), "-c",
             "import importlib.metadata as m; print(m.version('litellm'))"],
            capture_output=True, text=True).stdout.strip()

    def start(self, upstream: str) -> None:
        self.stop()
        self.port = free_port()
        config = self.work / f"litellm-{self.workers}.yaml"
        config.write_text(f"""model_list:
  - model_name: {MODEL}
    litellm_params: {{model: openai/{MODEL}, api_base: "{upstream}", api_key: fake}}
litellm_settings:
  set_verbose: false
  json_logs: false
  turn_off_message_logging: true
  success_callback: []
  failure_callback: []
  callbacks: []
general_settings:
  master_key: sk-bench
  disable_spend_logs: true
  disable_error_logs: true
""")
        argv = [str(self.venv / "bin/litellm"), "--config", str(config), "--port", str(self.port),
                "--host", "127.0.0.1", "--num_workers", str(self.workers)]
        self.command = " ".join(["litellm"] + argv[1:])
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR",
               "LITELLM_MODE": "PRODUCTION"}
        self.process = Process(argv, GATEWAY_CORE, self.work / f"litellm-{self.workers}.log", env)
        wait_until(lambda: serves(self.url(), self.headers(upstream), upstream), 120, self.name,
                   self.process)

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"

    def headers(self, upstream: str) -> Dict[str, str]:
        return {"authorization": "Bearer sk-bench"}


class Portkey(Target):
    def __init__(self, work: pathlib.Path) -> None:
        self.work = work
        self.name = "Portkey"
        self.dir = PEERS / "portkey/node_modules/@portkey-ai/gateway"
        self.version = "@portkey-ai/gateway " + json.loads(
            (self.dir / "package.json").read_text())["version"]

    def start(self, upstream: str) -> None:
        self.stop()
        self.port = free_port()
        argv = ["node", "build/start-server.js", f"--port={self.port}", "--headless"]
        self.command = "NODE_ENV=production " + " ".join(argv)
        self.process = Process(argv, GATEWAY_CORE, self.work / "portkey.log",
                               {**os.environ, "NODE_ENV": "production"}, cwd=str(self.dir))
        wait_until(lambda: serves(self.url(), self.headers(upstream), upstream), 60, "portkey",
                   self.process)

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"

    def headers(self, upstream: str) -> Dict[str, str]:
        return {"x-portkey-provider": "openai", "x-portkey-custom-host": upstream,
                "authorization": "Bearer fake"}


def load(argv: List[str], stdin: Optional[bytes] = None) -> bytes:
    done = subprocess.run(["taskset", "-c", LOAD_CORE, *argv], input=stdin,
                          capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {done.stderr.decode()[-1000:]}")
    return done.stdout


def vegeta(target: Target, upstream: str, rate: int, duration: int, workers: int = 64) -> dict:
    """vegeta at `rate` req/s (0: as fast as `workers` connections go)."""
    spec = {"method": "POST", "url": target.url(),
            "body": base64.b64encode(json.dumps(REQUEST).encode()).decode(),
            "header": {"Content-Type": ["application/json"],
                       **{k: [v] for k, v in target.headers(upstream).items()}}}
    attack = [str(PEERS / "bin/vegeta"), "attack", "-format=json", f"-duration={duration}s",
              f"-rate={rate}/s", "-timeout=10s", "-keepalive=true"]
    if rate == 0:
        attack += [f"-workers={workers}", f"-max-workers={workers}"]
    else:
        attack += ["-workers=32", "-max-workers=10000"]
    raw = load(attack, json.dumps(spec).encode() + b"\n")
    report = json.loads(load([str(PEERS / "bin/vegeta"), "report", "-type=json"], raw))
    latency = report["latencies"]
    return {"requests": report["requests"], "success": report["success"],
            "throughput": report["throughput"],
            "p50_ms": latency["50th"] / 1e6, "p90_ms": latency["90th"] / 1e6,
            "p99_ms": latency["99th"] / 1e6}


def protoset() -> pathlib.Path:
    """The API as a descriptor set: ghz's own .proto parser predates proto3
    `optional`."""
    path = pathlib.Path(tempfile.gettempdir()) / "voxgate-bench.protoset"
    subprocess.run(["protoc", f"-I{REPO / 'proto'}", "-I/usr/include", "--include_imports",
                    f"--descriptor_set_out={path}", str(REPO / "proto/voxgate/v1/service.proto")],
                   check=True)
    return path


def ghz(target: Voxgate, rate: int, duration: int, connections: int = 64) -> dict:
    data = {"model": MODEL, "messages": [{"role": "ROLE_USER",
                                          "content": [{"text": "Say hello."}]}],
            "generation": {"max_tokens": 16}}
    argv = [str(PEERS / "bin/ghz"), "--insecure", "--format=json",
            "--protoset", str(protoset()),
            "--call", "voxgate.v1.VoxgateService/Chat", "-d", json.dumps(data),
            "-z", f"{duration}s", "--timeout=10s", "--connections=4",
            f"127.0.0.1:{target.grpc_port}"]
    argv += ["-c", str(connections)] if rate == 0 else ["-c", "256", "--rps", str(rate)]
    report = json.loads(load(argv))
    details = {d["percentage"]: d["latency"] for d in report.get("latencyDistribution") or []}
    total = report["count"]
    ok = report.get("statusCodeDistribution", {}).get("OK", 0)
    return {"requests": total, "success": ok / total if total else 0,
            "codes": report.get("statusCodeDistribution", {}),
            "throughput": ok / (report["total"] / 1e9) if report["total"] else 0,
            "p50_ms": details.get(50, 0) / 1e6, "p90_ms": details.get(90, 0) / 1e6,
            "p99_ms": details.get(99, 0) / 1e6}


def ttft(target: Target, upstream: str, duration: int) -> dict:
    body = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({**REQUEST, "stream": True}, body)
    body.close()
    argv = [str(PEERS / "bin/ttft"), f"-url={target.url()}", f"-body={body.name}",
            "-concurrency=100", f"-duration={duration}s"]
    for name, value in target.headers(upstream).items():
        argv.append(f"-header={name}: {value}")
    try:
        return json.loads(load(argv))
    finally:
        os.unlink(body.name)


def measure(target: Target, fake: Fake, rates: List[int], duration: int) -> dict:
    result: dict = {"name": target.name, "version": target.version, "open_loop": []}
    try:
        return measure_into(result, target, fake, rates, duration)
    except Exception as error:  # a peer that fails mid-run is reported, not fatal
        print(f"  {target.name}: failed: {error}", file=sys.stderr)
        result["error"] = f"failed: {str(error)[:300]}"
        target.stop()
        return result


def measure_into(result: dict, target: Target, fake: Fake, rates: List[int],
                 duration: int) -> dict:
    try:
        target.start(fake.plain)
    except Exception as error:  # a peer that cannot start is reported, not fatal
        print(f"  {target.name}: did not start: {error}", file=sys.stderr)
        target.stop()
        result["error"] = f"did not start: {str(error)[:300]}"
        return result
    result["command"] = target.command
    run = (lambda rate, seconds: ghz(target, rate, seconds)) if target.grpc else \
        (lambda rate, seconds: vegeta(target, fake.plain, rate, seconds))
    run(min(rates), 2)  # warm up: connections, JIT, caches
    cpu_used, cpu_requests = 0.0, 0
    for rate in rates:
        before = target.cpu_seconds()
        point = run(rate, duration)
        after = target.cpu_seconds()
        point["rate"] = rate
        if before is not None and after is not None:
            point["cpu_s"] = after - before
            cpu_used += after - before
            cpu_requests += point["requests"]
        result["open_loop"].append(point)
        print(f"  {target.name} @ {rate}/s: {point['success'] * 100:.2f} % ok, "
              f"p50 {point['p50_ms']:.2f} p99 {point['p99_ms']:.2f} ms", file=sys.stderr)
        if point["success"] < 0.99:
            break
    if cpu_requests:
        result["cpu_ms_per_1000"] = 1000 * cpu_used / cpu_requests * 1000
    # A fresh start: an overloaded peer may still be working off the backlog
    # of the last open-loop rate.
    target.start(fake.plain)
    run(min(rates), 2)
    ceiling = run(0, duration)
    result["ceiling"] = ceiling
    print(f"  {target.name} closed loop: {ceiling['throughput']:.0f}/s at "
          f"{ceiling['success'] * 100:.2f} % ok", file=sys.stderr)
    if not target.grpc:
        try:
            target.start(fake.sse)
            result["ttft"] = ttft(target, fake.sse, duration)
            print(f"  {target.name} TTFT at 100 streams: p50 {result['ttft']['p50_ms']:.2f} ms",
                  file=sys.stderr)
        except Exception as error:  # reported in the table, the run goes on
            print(f"  {target.name}: streaming failed: {error}", file=sys.stderr)
            result["ttft_error"] = str(error)[:300]
    target.stop()
    return result


def tables(results: List[dict], rates: List[int], duration: int) -> str:
    direct = results[0]
    direct_at = {p["rate"]: p for p in direct["open_loop"]}
    lines = [f"Open loop, {duration} s per rate: success, and latency added to direct-to-fake "
             "at the same rate (p50 / p90 / p99, ms).", "",
             "| target | " + " | ".join(f"{r}/s" for r in rates) + " |",
             "|---|" + "---|" * len(rates)]
    for result in results:
        cells = []
        at = {p["rate"]: p for p in result.get("open_loop", [])}
        for rate in rates:
            point = at.get(rate)
            if point is None:
                cells.append("—")
                continue
            base = direct_at.get(rate, point) if result is not direct else None
            if base is None:
                cells.append(f"{point['success'] * 100:.1f} % · {point['p50_ms']:.2f} / "
                             f"{point['p90_ms']:.2f} / {point['p99_ms']:.2f}")
            else:
                cells.append(f"{point['success'] * 100:.1f} % · "
                             f"+{point['p50_ms'] - base['p50_ms']:.2f} / "
                             f"+{point['p90_ms'] - base['p90_ms']:.2f} / "
                             f"+{point['p99_ms'] - base['p99_ms']:.2f}")
        lines.append(f"| {result['name']} | " + " | ".join(cells) + " |")
    lines = [line.replace("| direct to the fake |", "| direct to the fake (absolute) |")
             for line in lines]
    lines += ["", "| target | version | closed-loop ceiling (req/s, < 1 % errors) | "
              "CPU ms per 1,000 requests | TTFT at 100 streams, p50 / p99 (ms) | command |",
              "|---|---|---|---|---|---|"]
    for result in results:
        if "error" in result:
            lines.append(f"| {result['name']} | {result['version']} | {result['error']} | | | |")
            continue
        ceiling = result["ceiling"]
        ok = ceiling["success"] >= 0.99
        ttft_cell = (f"{result['ttft']['p50_ms']:.1f} / {result['ttft']['p99_ms']:.1f}"
                     f" ({result['ttft']['errors']} errors)" if "ttft" in result
                     else "failed (see results.json)" if "ttft_error" in result else "—")
        cpu = result.get("cpu_ms_per_1000")
        lines.append(
            f"| {result['name']} | {result['version']} | "
            f"{ceiling['throughput']:.0f}{'' if ok else ' (' + format(ceiling['success'] * 100, '.1f') + ' % ok)'} | "
            f"{'—' if cpu is None else format(cpu, '.0f')} | {ttft_cell} | `{result.get('command', '')}` |")
    return "\n".join(lines)


def chart(results: List[dict], path: pathlib.Path) -> None:
    python = PEERS / "bench-venv/bin/python"
    script = """
import json, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
results = json.load(open(sys.argv[1]))
fig, ax = plt.subplots(figsize=(8, 5))
for r in results:
    points = [p for p in r.get("open_loop", []) if p["success"] >= 0.99]
    if points:
        ax.plot([p["rate"] for p in points], [p["p99_ms"] for p in points], marker="o",
                label=r["name"])
ax.set_xscale("log"); ax.set_yscale("log")
ax.set_xlabel("offered rate (requests/s, open loop)"); ax.set_ylabel("p99 latency (ms)")
ax.set_title("p99 against offered rate, each gateway on one core (fake upstream)")
ax.grid(True, which="both", alpha=0.3); ax.legend()
fig.tight_layout(); fig.savefig(sys.argv[2], dpi=110)
"""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as data:
        json.dump(results, data)
    subprocess.run([str(python), "-c", script, data.name, str(path)], check=True)
    os.unlink(data.name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="100,500,1000,2000,5000")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--only", default="", help="comma-separated target names to run")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    # Idempotent: installs what is missing (a peer that fails is skipped below).
    subprocess.run(["bash", str(HERE / "install.sh")], check=False)
    with tempfile.TemporaryDirectory() as directory:
        work = pathlib.Path(directory)
        fake = Fake(work)
        targets: List[Target] = [Direct(fake), Voxgate(work, grpc=False), Voxgate(work, grpc=True)]
        for make in (lambda: LiteLLM(work, 1), lambda: LiteLLM(work, 2), lambda: Portkey(work)):
            try:
                targets.append(make())
            except Exception as error:  # not installed: say so, go on
                print(f"skipped a peer: {error} (run bench/peers/install.sh)", file=sys.stderr)
        if args.only:
            keep = set(args.only.split(","))
            targets = [t for t in targets if t.name in keep or isinstance(t, Direct)]
        results = []
        for target in targets:
            print(f"{target.name}:", file=sys.stderr)
            results.append(measure(target, fake, rates, args.duration))
        fake.process.stop()
    (HERE / "results.json").write_text(json.dumps(results, indent=1))
    chart(results, HERE / "p99_vs_rate.png")
    print(tables(results, rates, args.duration))


if __name__ == "__main__":
    main()
