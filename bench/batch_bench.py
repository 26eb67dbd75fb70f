#!/usr/bin/env python3
"""BatchTranscribe against one file at a time: twenty ten-minute MP3 files,
fetched by the gateway from a local HTTP server, transcribed with 8 chunk
slots (limits.max_chunks_in_flight) in front of the fake upstream answering
each 30 s chunk after LATENCY_MS, as a model server would.

- one at a time: twenty Transcribe calls in a row, each with its own 8 slots;
- batch: one BatchTranscribe, 4 files in flight (batch.max_files_in_flight)
  sharing one budget of 8 slots.

The batch keeps the 8 slots busy while the next files are fetched and
decoded, and never leaves them idle at a file's tail. Each row is the median
of RUNS runs, both in the same run of this script.

    bazel build //gateway:voxgate //tests/fake_upstream:fake_upstream_server
    ~/.cache/voxgate-tools/venv/bin/python bench/batch_bench.py [--runs 3] [--latency-ms 500]
"""

import argparse
import http.server
import pathlib
import statistics
import sys
import tempfile
import threading
import time
from functools import partial

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests/big_audio"), str(REPO / "tests"),
                str(REPO / "client/python/src")]

from conftest import Fake, Gateway, run, speech_with_pauses  # noqa: E402

import voxgate  # noqa: E402

FILES = 20
MINUTES = 10


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve(folder: pathlib.Path) -> http.server.ThreadingHTTPServer:
    handler = partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=int, default=500)
    args = parser.parse_args()
    fake = Fake()
    fake.default(latency_ms=args.latency_ms)
    with tempfile.TemporaryDirectory() as directory:
        work = pathlib.Path(directory)
        base = speech_with_pauses(work)
        files = work / "files"
        files.mkdir()
        # 64 kb/s mono MP3: 4.8 MB for ten minutes.
        run("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-stream_loop",
            "-1", "-i", str(base), "-t", str(MINUTES * 60), "-c:a", "libmp3lame", "-b:a", "64k",
            str(files / "0.mp3"))
        for i in range(1, FILES):
            (files / f"{i}.mp3").write_bytes((files / "0.mp3").read_bytes())
        server = serve(files)
        urls = [f"http://127.0.0.1:{server.server_address[1]}/{i}.mp3" for i in range(FILES)]
        spool = work / "spool"
        spool.mkdir()
        gateway = Gateway(fake, spool,
                          fetch='{allow_http: true, allowed_hosts: ["127.0.0.1"]}',
                          extra="limits: {max_chunks_in_flight: 8}")
        timings = {"one at a time": [], "batch": []}
        audio = 0.0
        with voxgate.Client(gateway.address, timeout_s=3600) as client:
            for _ in range(args.runs):
                started = time.monotonic()
                for url in urls:
                    client.transcribe_url(url)
                timings["one at a time"].append(time.monotonic() - started)
                started = time.monotonic()
                results = client.transcribe_batch(urls, poll_s=0.2)
                timings["batch"].append(time.monotonic() - started)
                assert all(r["error"] is None for r in results), results
                audio = sum(r["result"]["duration"] for r in results)
        gateway.stop()
        server.shutdown()
    fake.process.stop()
    sequential = statistics.median(timings["one at a time"])
    print(f"{FILES} files x {MINUTES} min ({audio / 3600:.1f} h of audio), 8 chunk slots, "
          f"fake upstream {args.latency_ms} ms per chunk, median of {args.runs}:\n")
    print("| how | wall time | audio per second | vs one at a time |")
    print("|---|---|---|---|")
    for name, runs in timings.items():
        seconds = statistics.median(runs)
        print(f"| {name} | {seconds:.1f} s (runs: {', '.join(f'{r:.1f}' for r in runs)}) "
              f"| {audio / seconds:.0f} s/s | {sequential / seconds:.2f}x |")


if __name__ == "__main__":
    main()
