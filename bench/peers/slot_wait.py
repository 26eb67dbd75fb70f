#!/usr/bin/env python3
"""Does a call waiting for an upstream slot cost CPU? Voxgate alone on core 0
in front of the nginx fake, Chat over gRPC by ghz on core 1, closed loop for
8 s: the gateway's CPU per request for each pair of callers (ghz
concurrency) and endpoint slots (max_concurrency). With 4 slots and 64
callers, 60 calls wait in the pool's queue the whole time; with 4 callers,
none do.

    bazel build -c opt //gateway:voxgate && python3 bench/peers/slot_wait.py
"""

import pathlib
import sys
import tempfile

import run as bench


def measure(fake: bench.Fake, work: pathlib.Path, slots: int, callers: int) -> dict:
    config = work / f"slots-{slots}.yaml"
    config.write_text(f"""pools:
  - name: text
    protocol: openai_chat
    endpoints: [{{url: "{fake.plain}", max_concurrency: {slots}}}]
    models: [{bench.MODEL}]
    health_check: {{path: ""}}
routing: {{text_pool: text}}
""")
    target = bench.Voxgate(work, grpc=True)
    target.grpc_port, http_port = bench.free_port(), bench.free_port()
    target.process = bench.Process(
        [str(target.binary), f"--config={config}", f"--listen=127.0.0.1:{target.grpc_port}",
         "--admin_listen=127.0.0.1:0", f"--http_listen=127.0.0.1:{http_port}"],
        bench.GATEWAY_CORE, work / "voxgate.log")
    bench.wait_until(lambda: bench.answers(f"http://127.0.0.1:{http_port}/v1/chat/completions",
                                           {}, bench.REQUEST), 30, "voxgate", target.process)
    bench.ghz(target, 0, 2, callers)  # warm up
    before = target.cpu_seconds()
    result = bench.ghz(target, 0, 8, callers)
    after = target.cpu_seconds()
    target.stop()
    return {"slots": slots, "callers": callers, "rate": result["throughput"],
            "cpu_us": 1e6 * (after - before) / result["requests"], "p50": result["p50_ms"]}


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        work = pathlib.Path(directory)
        fake = bench.Fake(work)
        rows = [measure(fake, work, slots, callers)
                for slots, callers in ((4, 4), (4, 64), (64, 4), (64, 64))]
        fake.process.stop()
    print("| endpoint slots | callers | calls waiting for a slot | req/s | gateway CPU µs per "
          "request | p50 ms |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        waiting = max(0, row["callers"] - row["slots"])
        print(f"| {row['slots']} | {row['callers']} | {waiting} | {row['rate']:.0f} | "
              f"{row['cpu_us']:.0f} | {row['p50']:.2f} |")


if __name__ == "__main__":
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    main()
