#!/usr/bin/env python3
"""Big audio: wall time and the gateway's peak RSS for a file sent inline
(Transcribe, at the largest size the inline path accepts by default: 32 MiB)
against the same file streamed with TranscribeUpload, and a three-hour,
216 MB MP3 streamed. The fake upstream answers each chunk at once, so the time
is the gateway's: decoding, cutting, loudness, WAV encoding and HTTP. Each row
runs a fresh gateway (peak RSS = its VmHWM) RUNS times; the median is shown.

    bazel build //gateway:voxgate //tests/fake_upstream:fake_upstream_server
    ~/.cache/voxgate-tools/venv/bin/python bench/upload_bench.py [--runs 3]
"""

import argparse
import pathlib
import statistics
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests/big_audio"), str(REPO / "tests"),
                str(REPO / "client/python/src")]

from conftest import Fake, Gateway, mp3_of, speech_with_pauses  # noqa: E402

import voxgate  # noqa: E402
from voxgate.v1 import audio_pb2, transcribe_pb2  # noqa: E402

INLINE_LIMIT = 32 << 20  # audio.max_audio_bytes's default


def measure(fake: Fake, work: pathlib.Path, path: pathlib.Path, upload: bool) -> dict:
    spool = work / "spool"
    spool.mkdir(exist_ok=True)
    gateway = Gateway(fake, spool)
    with voxgate.Client(gateway.address, timeout_s=1800) as client:
        started = time.monotonic()
        if upload:
            result = client.transcribe_upload(path)
        else:
            # The stub itself: the client would stream a file this big.
            request = transcribe_pb2.TranscribeRequest(
                audio=audio_pb2.AudioInput(content=path.read_bytes()))
            result = {"duration": client._stub.Transcribe(
                request, timeout=1800).audio_duration.seconds}
        seconds = time.monotonic() - started
    peak = gateway.peak_rss_bytes() / 2**20
    gateway.stop()
    return {"seconds": seconds, "peak_mib": peak, "audio_s": result["duration"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    fake = Fake()
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        work = pathlib.Path(directory)
        base = speech_with_pauses(work)
        ten = mp3_of(base, 10, work / "ten.mp3")
        piece = ten.read_bytes()
        # As much MP3 as the inline limit takes (a cut frame at the end is
        # skipped by the decoder).
        inline = work / "inline.mp3"
        inline.write_bytes((piece * 3)[:INLINE_LIMIT - 4096])
        three_hours = work / "three_hours.mp3"
        three_hours.write_bytes(piece * 18)
        cases = [("Transcribe (inline)", inline, False),
                 ("TranscribeUpload", inline, True),
                 ("TranscribeUpload", three_hours, True)]
        for name, path, upload in cases:
            runs = [measure(fake, work, path, upload) for _ in range(args.runs)]
            rows.append({"name": name, "mb": path.stat().st_size / 1e6,
                         "audio": runs[0]["audio_s"],
                         "seconds": statistics.median(r["seconds"] for r in runs),
                         "peak": statistics.median(r["peak_mib"] for r in runs)})
    fake.process.stop()
    print(f"| path | file | audio | wall time (median of {args.runs}) | gateway peak RSS |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['name']} | {row['mb']:.0f} MB MP3 | {row['audio'] / 60:.0f} min | "
              f"{row['seconds']:.1f} s | {row['peak']:.0f} MiB |")


if __name__ == "__main__":
    main()
