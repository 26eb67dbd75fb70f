"""TranscribeUpload: a three-hour file with flat memory, M4A through a spool
file on disk, the CLI's progress, and bad uploads refused cleanly."""

from __future__ import annotations

import pathlib
import subprocess
import threading

import grpc
import pytest

import voxgate
from conftest import CHUNK_ANSWER_TEXT as CHUNK_ANSWER
from conftest import CLI_BIN, MAX_AUDIO_BYTES, Gateway, run, wait_for
from voxgate.v1 import service_pb2_grpc, transcribe_pb2


class Reports:
    """Progress reports, checked to only ever grow."""

    def __init__(self) -> None:
        self.last: dict = {}
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, report: dict) -> None:
        with self.lock:
            for key in ("bytes_sent", "audio_decoded", "audio_transcribed", "chunks_cut",
                        "chunks_done"):
                if key in self.last and key in report:
                    assert report[key] >= self.last[key], (key, self.last, report)
            self.last = report
            self.count += 1


def test_a_three_hour_file_streams_through_with_flat_memory(gateway, client, work,
                                                            ten_minute_mp3):
    # Warm up on ten minutes, then eighteen times as much: the gateway's peak
    # memory must not grow with the file (the inline path holds the whole
    # decoded audio, 660 MiB of float for three hours, and the file).
    small = client.transcribe_upload(ten_minute_mp3)
    assert small["duration"] == pytest.approx(600, abs=1)
    peak_after_small = gateway.peak_rss_bytes()

    big = work / "three_hours.mp3"
    piece = ten_minute_mp3.read_bytes()
    with open(big, "wb") as out:
        for _ in range(18):
            out.write(piece)
    size = big.stat().st_size
    assert 200e6 < size < MAX_AUDIO_BYTES

    reports = Reports()
    result = client.transcribe_upload(big, on_progress=reports)
    big.unlink()  # keep the test's disk bounded
    peak_after_big = gateway.peak_rss_bytes()
    print(f"gateway peak RSS: {peak_after_small / 2**20:.0f} MiB after 10 min, "
          f"{peak_after_big / 2**20:.0f} MiB after 3 h ({size / 1e6:.0f} MB)")

    assert result["duration"] == pytest.approx(3 * 3600, abs=5)
    chunks = reports.last["chunks_done"]
    assert chunks == reports.last["chunks_cut"] >= 3 * 3600 / 30
    assert result["text"].count(CHUNK_ANSWER) == chunks
    assert reports.last["bytes_sent"] == size
    assert reports.last["audio_transcribed"] == pytest.approx(3 * 3600, abs=5)
    assert peak_after_big - peak_after_small < 64 << 20
    assert peak_after_big < 256 << 20


class PausingFile:
    """A file that stops being readable halfway until released, so a test can
    look at the gateway while an upload is half done."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0
        self.halfway = threading.Event()
        self.release = threading.Event()

    def read(self, size: int) -> bytes:
        if self.at >= len(self.data) // 2 and not self.release.is_set():
            self.halfway.set()
            assert self.release.wait(60), "the test never released the upload"
        piece = self.data[self.at:self.at + size]
        self.at += len(piece)
        return piece


@pytest.fixture(scope="module")
def three_minute_m4a(work, base_speech) -> pathlib.Path:
    m4a = work / "three_minutes.m4a"
    run("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "-1",
        "-i", str(base_speech), "-t", "180", "-c:a", "aac", "-b:a", "96k", str(m4a))
    return m4a


def test_m4a_with_its_index_at_the_end_is_spooled_to_disk(gateway, client, three_minute_m4a):
    data = three_minute_m4a.read_bytes()
    assert data[4:8] == b"ftyp" and data.rfind(b"moov") > data.find(b"mdat")

    upload = PausingFile(data)
    outcome: dict = {}

    def transcribe() -> None:
        try:
            outcome["result"] = client.transcribe_upload(upload)
        except Exception as error:  # reported by the assertions below
            outcome["error"] = error

    worker = threading.Thread(target=transcribe)
    worker.start()
    try:
        assert upload.halfway.wait(60), "the upload never got halfway"
        # Half the file is in; it lies in an unlinked file in the spool
        # folder, not in memory.
        wait_for(lambda: len(gateway.spool_files()) == 1, 30, "the spool file")
        assert gateway.spool_files()[0].endswith("(deleted)")
    finally:
        upload.release.set()
        worker.join(120)
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    assert result["duration"] == pytest.approx(180, abs=1)
    assert result["text"].count(CHUNK_ANSWER) >= 6
    wait_for(lambda: not gateway.spool_files(), 30, "the spool file to be closed")


def test_the_disk_spool_is_bounded_over_all_uploads(fake, work, three_minute_m4a,
                                                   ten_minute_mp3):
    spool = work / "small-spool"
    spool.mkdir()
    small = Gateway(fake, spool, max_spool_bytes=1 << 20)
    try:
        with voxgate.Client(small.address) as client:
            with pytest.raises(voxgate.OverloadedError) as full:
                client.transcribe_upload(three_minute_m4a)
            assert "audio.max_spool_bytes" in full.value.message
            # What the refused upload took is given back, and streamable
            # containers never touch the spool.
            wait_for(lambda: not small.spool_files(), 30, "the spool file to be closed")
            assert client.transcribe_upload(ten_minute_mp3)["duration"] == pytest.approx(
                600, abs=1)
    finally:
        small.stop()


def test_the_cli_uploads_big_files_with_progress(gateway, ten_minute_mp3):
    done = subprocess.run(
        [CLI_BIN, f"--address={gateway.address}", "--timeout=5m", "transcribe", "--upload",
         "--progress", str(ten_minute_mp3)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(CHUNK_ANSWER) >= 20
    lines = [line for line in done.stderr.splitlines() if line.startswith("upload ")]
    assert lines, done.stderr
    assert lines[-1].startswith("upload 100% ")
    # The last line shows every chunk answered, and ten minutes transcribed.
    assert "transcribed 0:10:0" in lines[-1], lines[-1]
    cut_done = lines[-1].rsplit("chunks ", 1)[1].split("/")
    assert cut_done[0] == cut_done[1], lines[-1]


def raw_upload(gateway, messages):
    with grpc.insecure_channel(gateway.address) as channel:
        stub = service_pb2_grpc.VoxgateServiceStub(channel)
        return list(stub.TranscribeUpload(iter(messages), timeout=60))


def config(**fields) -> transcribe_pb2.TranscribeUploadRequest:
    return transcribe_pb2.TranscribeUploadRequest(
        config=transcribe_pb2.TranscribeUploadConfig(**fields))


def audio(data: bytes) -> transcribe_pb2.TranscribeUploadRequest:
    return transcribe_pb2.TranscribeUploadRequest(audio_content=data)


@pytest.mark.parametrize("messages, code, text", [
    ([audio(b"RIFF....")], grpc.StatusCode.FAILED_PRECONDITION, "must be a config"),
    ([config(), config()], grpc.StatusCode.FAILED_PRECONDITION, "config: sent twice"),
    ([config(), audio(b"\0" * (2 << 20))], grpc.StatusCode.INVALID_ARGUMENT,
     "at most 1048576"),
    ([config(total_bytes=MAX_AUDIO_BYTES + 1)], grpc.StatusCode.INVALID_ARGUMENT,
     "audio.max_audio_bytes"),
    ([config(total_bytes=1000), audio(b"\0" * 2000)], grpc.StatusCode.INVALID_ARGUMENT,
     "more bytes than config.total_bytes"),
    ([config()], grpc.StatusCode.INVALID_ARGUMENT, "held no audio"),
    ([config(), audio(bytes(range(256)) * 512)], grpc.StatusCode.INVALID_ARGUMENT, "audio"),
])
def test_bad_uploads_get_a_clear_error_and_others_are_still_served(
        gateway, client, ten_minute_mp3, messages, code, text):
    with pytest.raises(grpc.RpcError) as failure:
        raw_upload(gateway, messages)
    assert failure.value.code() == code, failure.value.details()
    assert text in failure.value.details()
    assert gateway.process.death() is None
    # Everyone else is still served.
    short = ten_minute_mp3.read_bytes()[:2 << 20]
    assert client.transcribe_upload(short)["text"].count(CHUNK_ANSWER) >= 1


def test_a_cancelled_upload_leaves_nothing_behind(gateway, fake, ten_minute_mp3):
    client = voxgate.Client(gateway.address)
    upload = PausingFile(ten_minute_mp3.read_bytes())
    reports = Reports()
    failure: dict = {}

    def transcribe() -> None:
        try:
            client.transcribe_upload(upload, on_progress=reports, timeout_s=600)
        except voxgate.VoxgateError as error:
            failure["error"] = error

    worker = threading.Thread(target=transcribe)
    worker.start()
    assert upload.halfway.wait(60)
    wait_for(lambda: reports.last.get("chunks_done", 0) >= 2, 60, "two chunks answered")
    # Closing the client cancels the call mid-upload.
    client.close()
    upload.release.set()
    worker.join(60)
    assert isinstance(failure.get("error"), voxgate.CancelledError), failure
    wait_for(lambda: gateway.metric("voxgate_streams_active") == 0, 30,
             "the upload's stream slot to be free")
    wait_for(lambda: fake.in_flight() == 0, 30, "no chunk left upstream")
    assert gateway.process.death() is None


def test_the_async_client_uploads_too(gateway, ten_minute_mp3):
    import asyncio

    reports = Reports()

    async def upload() -> dict:
        async with voxgate.AsyncClient(gateway.address) as client:
            return await client.transcribe_upload(ten_minute_mp3, on_progress=reports)

    result = asyncio.run(upload())
    assert result["duration"] == pytest.approx(600, abs=1)
    assert reports.last["bytes_sent"] == ten_minute_mp3.stat().st_size
    assert reports.last["chunks_done"] == reports.last["chunks_cut"] >= 20
