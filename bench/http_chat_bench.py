#!/usr/bin/env python3
"""POST /v1/chat/completions through Voxgate's HTTP front door, and the same
chat as Connect JSON (POST /voxgate.v1.VoxgateService/Chat), against the same
request sent straight to the fake upstream, with the same load generators, in
one run.

    python3 bench/http_chat_bench.py [--rates=1000,2000,5000] [--seconds=10]

Open loop: vegeta (Go, installed into the tools cache) at each fixed rate;
p50/p99 added is Voxgate's latency minus direct's at the same rate. Closed
loop: wrk with 64 connections, the highest rate each sustains. Voxgate runs
pinned to core 0; the fake and the load generators share core 1 (taskset), so
the gateway's CPU is measured alone.
"""

import argparse
import base64
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[1]
TOOLS = pathlib.Path(os.environ.get("VOXGATE_TOOLS", pathlib.Path.home() / ".cache/voxgate-tools"))
VEGETA = TOOLS / "bin/vegeta"
VEGETA_MODULE = "github.com/tsenart/vegeta/v12@v12.12.0"
BODY = json.dumps({"model": "fake-model", "max_tokens": 16,
                   "messages": [{"role": "user", "content": "Say hello to the benchmark."}]})
# The same chat in the proto's JSON mapping, for the Connect door.
CONNECT_BODY = json.dumps({"model": "fake-model", "generation": {"maxTokens": 16},
                           "messages": [{"role": "ROLE_USER", "content": [
                               {"text": "Say hello to the benchmark."}]}]})
CONFIG = """
pools:
  - name: llm
    protocol: openai_chat
    endpoints: [{{url: "http://127.0.0.1:{port}/v1", max_concurrency: 512}}]
    models: [fake-model]
    health_check: {{path: ""}}
limits:
  max_concurrent_calls: 4096
"""


def run(argv, **kwargs):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs)


def wait_line(process, pattern, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    for line in process.stdout:
        match = re.search(pattern, line)
        if match:
            return match
        if time.monotonic() > deadline:
            break
    raise RuntimeError(f"{process.args[0]} never printed {pattern}")


def vegeta(url, rate, seconds, body=BODY):
    target = json.dumps({"method": "POST", "url": url,
                         "header": {"Content-Type": ["application/json"]},
                         "body": base64.b64encode(body.encode()).decode()})
    attack = subprocess.run(
        ["taskset", "-c", "1", str(VEGETA), "attack", "-format=json", f"-rate={rate}/s",
         f"-duration={seconds}s", "-timeout=10s", "-keepalive=true"],
        input=(target + "\n").encode(), capture_output=True, check=True)
    report = subprocess.run([str(VEGETA), "report", "-type=json"], input=attack.stdout,
                            capture_output=True, check=True)
    result = json.loads(report.stdout)
    return {"rate": result["rate"], "success": result["success"],
            "p50": result["latencies"]["50th"] / 1e6, "p90": result["latencies"]["90th"] / 1e6,
            "p99": result["latencies"]["99th"] / 1e6}


def wrk(url, seconds, connections=64, body=BODY):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                     f"wrk.body = {json.dumps(body)}\n")
    output = run(["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s",
                  "--latency", "-s", script.name, url]).stdout
    os.unlink(script.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rate, int(errors.group(1)) if errors else 0


def cpu_seconds(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="1000,2000,5000")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]

    if not VEGETA.exists():
        subprocess.run(["go", "install", VEGETA_MODULE], check=True,
                       env={**os.environ, "GOBIN": str(VEGETA.parent), "GOFLAGS": "-mod=mod"})
    run(["bazel", "build", "-c", "opt", "//gateway:voxgate",
         "//tests/fake_upstream:fake_upstream_server"], cwd=REPO)
    bin_dir = pathlib.Path(run(["bazel", "info", "-c", "opt", "bazel-bin"], cwd=REPO).stdout.strip())

    fake = subprocess.Popen(["taskset", "-c", "1", str(bin_dir / "tests/fake_upstream/fake_upstream_server")],
                            stdout=subprocess.PIPE, text=True)
    port = int(wait_line(fake, r'"port": (\d+)').group(1))
    config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    config.write(CONFIG.format(port=port))
    config.close()
    log = open(tempfile.mktemp(suffix=".log"), "w")
    gateway = subprocess.Popen(
        ["taskset", "-c", "0", str(bin_dir / "gateway/voxgate"), f"--config={config.name}",
         "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0", "--http_listen=127.0.0.1:0"],
        stderr=subprocess.PIPE, text=True)
    http_port = int(wait_line(type("P", (), {"stdout": gateway.stderr, "args": ["voxgate"]}),
                              r'"http_port":(\d+)').group(1))
    # Drain the gateway's log (one line per call) so it never blocks.
    import threading
    threading.Thread(target=lambda: [log.write(line) for line in gateway.stderr],
                     daemon=True).start()
    direct = f"http://127.0.0.1:{port}/v1/chat/completions"
    routes = [("OpenAI route", f"http://127.0.0.1:{http_port}/v1/chat/completions", BODY),
              ("Connect JSON", f"http://127.0.0.1:{http_port}/voxgate.v1.VoxgateService/Chat",
               CONNECT_BODY)]
    try:
        vegeta(direct, 500, 2)  # warm every path (connections, caches)
        for _, url, body in routes:
            vegeta(url, 500, 2, body)
        print(f"open loop, {args.seconds} s per rate, vegeta; Voxgate pinned to one core\n")
        print("| rate req/s | door | direct p50 ms | direct p99 ms | voxgate p50 ms "
              "| voxgate p99 ms | added p50 ms | added p99 ms | voxgate success "
              "| voxgate CPU µs/req |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for rate in rates:
            baseline = vegeta(direct, rate, args.seconds)
            for door, url, body in routes:
                before = cpu_seconds(gateway.pid)
                measured = vegeta(url, rate, args.seconds, body)
                cpu = cpu_seconds(gateway.pid) - before
                requests = measured["rate"] * args.seconds
                print(f"| {rate} | {door} | {baseline['p50']:.2f} | {baseline['p99']:.2f} "
                      f"| {measured['p50']:.2f} | {measured['p99']:.2f} "
                      f"| {measured['p50'] - baseline['p50']:+.2f} "
                      f"| {measured['p99'] - baseline['p99']:+.2f} "
                      f"| {measured['success'] * 100:.2f}% | {cpu / requests * 1e6:.0f} |",
                      flush=True)
        print("\nclosed loop, wrk, 64 connections, highest sustained rate\n")
        print("| target | req/s | non-2xx | voxgate CPU µs/req |")
        print("|---|---|---|---|")
        for name, url, body in [("direct to the fake", direct, BODY),
                                *((f"through Voxgate, {door}", url, body)
                                  for door, url, body in routes)]:
            before = cpu_seconds(gateway.pid)
            rate, errors = wrk(url, args.seconds, body=body)
            cpu = cpu_seconds(gateway.pid) - before
            per_request = "" if url == direct else f"{cpu / (rate * args.seconds) * 1e6:.0f}"
            print(f"| {name} | {rate:.0f} | {errors} | {per_request} |", flush=True)
    finally:
        gateway.terminate()
        fake.terminate()
        gateway.wait(30)
        fake.wait(30)
        os.unlink(config.name)


if __name__ == "__main__":
    sys.exit(main())
