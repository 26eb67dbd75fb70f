#!/usr/bin/env python3
"""Peak RSS of one Transcribe for the inputs that decode to the most audio,
an old binary and the current one side by side in the same run (issue 27).
Each input goes to a fresh gateway whose audio pool is the fake upstream (it
answers each chunk at once); the row is the gateway's peak resident set
(VmHWM) after the call less its peak before it.

    bazel build //gateway:voxgate //tests/fake_upstream:fake_upstream_server
    ~/.cache/voxgate-tools/venv/bin/python bench/decoded_memory.py \\
        --before /path/to/old/voxgate [--after bazel-bin/gateway/voxgate]
"""

from __future__ import annotations

import argparse
import pathlib
import random
import subprocess
import sys
import tempfile
import time

import grpc

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests/big_audio"), str(REPO / "tests"),
                str(REPO / "client/python/src")]

import conftest  # noqa: E402
from voxgate.v1 import audio_pb2, service_pb2_grpc, transcribe_pb2  # noqa: E402

MIB = 1 << 20


def mulaw(size: int) -> bytes:
    return random.Random(27).randbytes(size)


def low_bitrate_mp3(work: pathlib.Path, hours: float) -> bytes:
    path = work / "long.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"anoisesrc=d={int(hours * 3600)}:c=pink:r=8000:a=0.05",
                    "-ac", "1", "-ar", "8000", "-b:a", "8k", str(path)], check=True)
    return path.read_bytes()


def request(content: bytes, encoding: int, rate: int = 0, channels: int = 0):
    audio_format = audio_pb2.AudioFormat(encoding=encoding)
    if encoding == audio_pb2.AUDIO_ENCODING_MULAW:
        audio_format.sample_rate_hertz, audio_format.channel_count = 8000, 1
    return transcribe_pb2.TranscribeRequest(
        audio=audio_pb2.AudioInput(content=content, format=audio_format),
        config=audio_pb2.RecognitionConfig(preprocessing=audio_pb2.PreprocessingConfig(
            target_sample_rate_hertz=rate, target_channel_count=channels)))


def measure(binary: str, fake, work: pathlib.Path, message) -> tuple:
    conftest.VOXGATE_BIN = binary
    spool = work / "spool"
    spool.mkdir(exist_ok=True)
    gateway = conftest.Gateway(fake, spool)
    try:
        before = gateway.peak_rss_bytes()
        started = time.monotonic()
        with grpc.insecure_channel(gateway.address, options=[
                ("grpc.max_send_message_length", 64 * MIB)]) as channel:
            try:
                answer = service_pb2_grpc.VoxgateServiceStub(channel).Transcribe(
                    message, timeout=1800)
                outcome = f"OK, {answer.audio_duration.seconds // 60} min"
            except grpc.RpcError as error:
                outcome = error.code().name
        seconds = time.monotonic() - started
        return outcome, (gateway.peak_rss_bytes() - before) / MIB, seconds
    finally:
        gateway.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", default=str(REPO / "bazel-bin/gateway/voxgate"))
    args = parser.parse_args()
    fake = conftest.Fake()
    with tempfile.TemporaryDirectory() as directory:
        work = pathlib.Path(directory)
        raw = mulaw(31 * MIB)
        mp3 = low_bitrate_mp3(work, 4)
        cases = [
            ("31 MiB of 8 kHz mu-law (68 min), asked for at 48 kHz stereo",
             request(raw, audio_pb2.AUDIO_ENCODING_MULAW, 48000, 2)),
            ("31 MiB of 8 kHz mu-law (68 min), defaults (16 kHz mono)",
             request(raw, audio_pb2.AUDIO_ENCODING_MULAW)),
            (f"4 h MP3 at 8 kbps ({len(mp3) / MIB:.1f} MiB), defaults",
             request(mp3, audio_pb2.AUDIO_ENCODING_AUTO)),
        ]
        print("| input | before: answer | before: peak RSS added | before: time | "
              "after: answer | after: peak RSS added | after: time |")
        print("|---|---|---|---|---|---|---|")
        for name, message in cases:
            cells = []
            for binary in (args.before, args.after):
                outcome, added, seconds = measure(binary, fake, work, message)
                cells += [outcome, f"{added:,.0f} MiB", f"{seconds:.1f} s"]
            print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    fake.process.stop()


if __name__ == "__main__":
    main()
