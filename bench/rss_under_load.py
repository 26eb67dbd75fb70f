#!/usr/bin/env python3
"""Peak RSS of one gateway under the multi-replica suite's mixed load, with
the embedded engine serving audio and without it (chat to the fake only): the
figures behind the manifests' memory requests and limits.

    bazel build //gateway:voxgate //tests/fake_upstream:fake_upstream_server \
        //client/cpp:voxgate-cli
    ~/.cache/voxgate-tools/venv/bin/python bench/rss_under_load.py [--seconds 30]
"""

import argparse
import pathlib
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests/kubernetes")]

from conftest import FAKE_BIN, VOXGATE_BIN  # noqa: E402
from process_harness import Process, peak_rss_bytes  # noqa: E402
from replicas import MixedLoad, free_port, mint_key, pools_yaml  # noqa: E402

import grpc  # noqa: E402


def peak_rss_mb(pid: int) -> float:
    return peak_rss_bytes(pid) / 2**20


def measure(audio: bool, seconds: float, speech: bytes, work: pathlib.Path) -> dict:
    fake = Process([FAKE_BIN])
    fake_port = int(fake.wait_for_line(r'"port": (\d+)', 30).group(1))
    key = mint_key("load")
    keys = work / "keys.yaml"
    keys.write_text("tenants:\n  - name: load\nkeys:\n"
                    f'  - {{id: "{key["id"]}", tenant: "load", hash: "{key["hash"]}"}}\n')
    config = work / f"voxgate-{audio}.yaml"
    config.write_text(pools_yaml(fake_port, audio) + f"auth: {{keys_file: {keys}}}\n")
    port = free_port()
    gateway = Process([VOXGATE_BIN, f"--config={config}", f"--listen=127.0.0.1:{port}",
                       "--admin_listen=127.0.0.1:0", "--http_listen=off"])
    line = gateway.wait_for_line(r'"worker_threads":(\d+)', 60)
    idle = peak_rss_mb(gateway.process.pid)
    load = MixedLoad(grpc.insecure_channel(f"127.0.0.1:{port}"), key["key"], speech,
                     workers=8, audio=audio)
    load.start()
    time.sleep(seconds)  # a measurement window, not a synchronisation
    load.stop()
    peak = peak_rss_mb(gateway.process.pid)
    summary = load.summary()
    gateway.stop()
    fake.stop()
    return {"audio": "embedded engine" if audio else "chat only (upstream)",
            "workers": int(line.group(1)), "idle_mb": round(idle), "peak_mb": round(peak),
            "calls": summary["calls"], "failed": summary["failed"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        work = pathlib.Path(directory)
        spoken, joined = work / "spoken.wav", work / "speech.wav"
        subprocess.run(["flite", "-voice", "slt", "-t", "Please call Stella.", "-o",
                        str(spoken)], check=True)
        subprocess.run(["sox", str(spoken), "-r", "16000", str(joined), "pad", "0.3", "0.8"],
                       check=True)
        speech = joined.read_bytes()
        rows = [measure(audio, args.seconds, speech, work) for audio in (True, False)]
    print("| audio | workers | RSS idle | peak RSS under load | calls | failed |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['audio']} | {row['workers']} | {row['idle_mb']} MB | "
              f"{row['peak_mb']} MB | {row['calls']} | {row['failed']} |")


if __name__ == "__main__":
    main()
