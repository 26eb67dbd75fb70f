"""Word error rate of the two local engines on the same clips, through the real
gateway: the embedded pocketsphinx engine and Whisper tiny.en on
faster-whisper-server (the `./scripts/run.sh --whisper` set-up), on the five
LibriVox clips of pocketsphinx-testdata sent as 44.1 kHz stereo MP3, plus the
same clips joined into one file (cut into chunks and stitched by the gateway).

Run with the test virtualenv (scripts/setup.sh --tests makes it):
    ~/.cache/voxgate-tools/venv/bin/python bench/asr_wer.py
It builds nothing: bazel build //gateway:voxgate first. Prints a Markdown table.
"""

from __future__ import annotations

import pathlib
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests/real_servers"))

from conftest import (PATHS, Gateway, Process, free_port, http_ok,  # noqa: E402
                      librivox_clips, transcode, wait_for, wer)
from voxgate.v1 import audio_pb2, transcribe_pb2  # noqa: E402


def transcribe(gateway: Gateway, audio: bytes) -> str:
    return gateway.stub.Transcribe(transcribe_pb2.TranscribeRequest(
        audio=audio_pb2.AudioInput(content=audio)), timeout=600).text


def measure(name: str, gateway: Gateway, clips, mp3s) -> str:
    references = [reference for _, reference in clips]
    started = time.monotonic()
    texts = [transcribe(gateway, mp3) for mp3 in mp3s]
    one_by_one = time.monotonic() - started
    joined = transcribe(gateway, transcode_joined(clips))
    return (f"| {name} | {100 * wer(references, texts):.1f}% | "
            f"{100 * wer([' '.join(references)], [joined]):.1f}% | {one_by_one:.1f} s |")


def transcode_joined(clips) -> bytes:
    """The clips one after the other, as one 44.1 kHz stereo MP3."""
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as work:
        listing = pathlib.Path(work, "list.txt")
        listing.write_text("".join(f"file '{path}'\n" for path, _ in clips))
        out = pathlib.Path(work, "joined.mp3")
        subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "concat", "-safe", "0",
                        "-i", str(listing), "-ar", "44100", "-ac", "2", str(out)],
                       check=True)
        return out.read_bytes()


def main() -> None:
    clips = librivox_clips()
    mp3s = [transcode(path, ["-ar", "44100", "-ac", "2", "-b:a", "128k"], "mp3")
            for path, _ in clips]
    rows = []
    embedded = Gateway([])
    try:
        rows.append(measure("embedded pocketsphinx (default)", embedded, clips, mp3s))
    finally:
        embedded.stop()

    port = free_port()
    whisper = Process([PATHS["WHISPER_SERVER"], PATHS["WHISPER_MODEL"], "--host",
                       "127.0.0.1", "--port", str(port)])
    try:
        wait_for(lambda: http_ok(f"http://127.0.0.1:{port}/health"), 180, "whisper")
        gateway = Gateway([f"--audio_base_url=http://127.0.0.1:{port}/v1",
                           "--audio_protocol=transcriptions"])
        try:
            transcribe(gateway, mp3s[1])  # the server loads its model on first use
            rows.append(measure("Whisper tiny.en, faster-whisper-server (`--whisper`)",
                                gateway, clips, mp3s))
        finally:
            gateway.stop()
    finally:
        whisper.stop()

    print(f"| engine | WER, 5 clips one by one | WER, joined in one file | "
          f"time, 5 clips ({sum(len(m) for m in mp3s) // 1024} KiB MP3) |")
    print("|---|---|---|---|")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
