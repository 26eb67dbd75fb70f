"""BatchTranscribe as a google.longrunning operation: per-file results and
errors, progress that only goes up, Cancel, and operations that any replica
sharing one Redis answers for, including one whose replica died."""

from __future__ import annotations

import signal
import subprocess
import threading
from typing import List

import grpc
import pytest
from google.longrunning import operations_pb2, operations_pb2_grpc

import voxgate

from conftest import CHUNK_ANSWER_TEXT, CLI_BIN, Gateway, Redis, mp3_of, run, wait_for
from process_harness import free_port
from voxgate.v1 import audio_pb2, batch_pb2, service_pb2_grpc

FILES = 20


@pytest.fixture(scope="module")
def clips(work, base_speech) -> List[bytes]:
    """Seventeen short MP3 clips of different lengths (4 to 20 s)."""
    long_mp3 = mp3_of(base_speech, 1, work / "batch_source.mp3")
    clips = []
    for i in range(FILES - 3):
        out = work / f"clip{i}.mp3"
        run("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i",
            str(long_mp3), "-t", str(4 + i), "-c", "copy", str(out))
        clips.append(out.read_bytes())
    return clips


def batch_items(clips: List[bytes], audio_server: str, dead_port: int):
    """Twenty items: sixteen clips inline, one by URL, two corrupt files and
    one URL nobody answers; their ids say which is which."""
    items, ids = [], []
    for i, clip in enumerate(clips[:-1]):
        items.append(clip)
        ids.append(f"clip-{i:02d}")
    items.append(f"http://{audio_server}/speech.mp3")
    ids.append("by-url")
    items += [b"this is not audio at all" * 100, b"\xff\xfb\x90\x00" + bytes(5000)]
    ids += ["corrupt-text", "corrupt-mp3"]
    items.append(f"http://127.0.0.1:{dead_port}/nobody-home.mp3")
    ids.append("unreachable")
    return items, ids


@pytest.fixture(scope="module")
def batch_gateway(fake, work):
    spool = work / "spool-batch"
    spool.mkdir()
    server = Gateway(fake, spool, fetch='{allow_http: true, allowed_hosts: ["127.0.0.1"]}',
                     extra="limits: {max_chunks_in_flight: 4}\nbatch: {max_files_in_flight: 3}")
    yield server
    server.stop()


def dead_port() -> int:
    return free_port()  # nothing listens there


def test_a_batch_gives_every_file_its_result_or_error(batch_gateway, fake, clips,
                                                      audio_server):
    fake.default(latency_ms=300)
    items, ids = batch_items(clips, audio_server, dead_port())
    progress = []
    with voxgate.Client(batch_gateway.address, timeout_s=60) as client:
        results = client.transcribe_batch(items, ids=ids, on_progress=progress.append,
                                          poll_s=0.2)
    fake.default()
    assert [r["id"] for r in results] == ids
    good = [r for r in results if r["error"] is None]
    bad = {r["id"]: r["error"] for r in results if r["error"] is not None}
    assert len(good) == 17 and set(bad) == {"corrupt-text", "corrupt-mp3", "unreachable"}
    for result in good:
        assert CHUNK_ANSWER_TEXT in result["result"]["text"]
    for i, result in enumerate(good[:16]):
        assert result["result"]["duration"] == pytest.approx(4 + i, abs=0.3)
    assert good[16]["result"]["duration"] == pytest.approx(60, abs=2)
    assert isinstance(bad["corrupt-text"], voxgate.AudioProcessingError), bad["corrupt-text"]
    assert bad["unreachable"].code == grpc.StatusCode.UNAVAILABLE
    assert "127.0.0.1" in bad["unreachable"].message
    # Progress went up one step at a time and never back.
    assert progress[-1]["done"] and progress[-1]["files_done"] == FILES
    assert progress[-1]["files_failed"] == 3
    for before, after in zip(progress, progress[1:]):
        assert after["files_done"] >= before["files_done"]
        assert after["audio_seconds_done"] >= before["audio_seconds_done"]
    assert any(0 < p["files_done"] < FILES for p in progress), "progress came in steps"


def test_bad_batch_requests_name_the_field(batch_gateway):
    with grpc.insecure_channel(batch_gateway.address) as channel:
        stub = service_pb2_grpc.VoxgateServiceStub(channel)
        cases = [
            (batch_pb2.BatchTranscribeRequest(), "files: at least one"),
            (batch_pb2.BatchTranscribeRequest(files=[
                batch_pb2.BatchFile(id="a", audio=audio_pb2.AudioInput(content=b"x")),
                batch_pb2.BatchFile(id="a", audio=audio_pb2.AudioInput(content=b"x"))]),
             "files[1].id"),
            (batch_pb2.BatchTranscribeRequest(files=[batch_pb2.BatchFile(id="a")]),
             "files[0].audio: set content or uri"),
            (batch_pb2.BatchTranscribeRequest(files=[batch_pb2.BatchFile(
                id="", audio=audio_pb2.AudioInput(content=b"x"))]), "files[0].id"),
        ]
        for request, expected in cases:
            with pytest.raises(grpc.RpcError) as failure:
                stub.BatchTranscribe(request, timeout=30)
            assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert expected in failure.value.details()
        operations = operations_pb2_grpc.OperationsStub(channel)
        for name in ("operations/batch-nonexistent", "not-an-operation"):
            with pytest.raises(grpc.RpcError) as failure:
                operations.GetOperation(operations_pb2.GetOperationRequest(name=name),
                                        timeout=30)
            assert failure.value.code() in (grpc.StatusCode.NOT_FOUND,
                                            grpc.StatusCode.INVALID_ARGUMENT)
            assert "name" in failure.value.details()


def test_cancel_stops_the_files_not_yet_done(batch_gateway, fake, clips):
    fake.default(hang=True)
    try:
        with voxgate.Client(batch_gateway.address, timeout_s=60) as client:
            operation = client.start_batch(clips[:10], ids=[str(i) for i in range(10)])
            # Three files run at once (batch.max_files_in_flight), their
            # chunks hanging at the fake.
            wait_for(lambda: fake.in_flight() >= 3, 60, "chunks of running files upstream")
            client.cancel_operation(operation.name)
            ended = client.wait_operation(operation.name, 30)
            assert ended.done
            assert ended.error.code == grpc.StatusCode.CANCELLED.value[0]
            wait_for(lambda: fake.in_flight() == 0, 30, "the hanging chunks cancelled")
            results = voxgate._batch.results_of(ended)
            assert all(r["error"] is not None for r in results)
            assert sum("not run" in r["error"].message for r in results) >= 6
            progress = voxgate._batch.progress_dict(ended)
            assert progress["files_done"] == 10 and progress["files_failed"] == 10
            # Listing shows it, done; Delete forgets it.
            listed = client.list_operations()
            assert operation.name in [op.name for op in listed]
            client.delete_operation(operation.name)
            with pytest.raises(voxgate.VoxgateError) as gone:
                client.get_operation(operation.name)
            assert gone.value.code == grpc.StatusCode.NOT_FOUND
    finally:
        fake.default()


@pytest.fixture(scope="module")
def redis():
    server = Redis()
    yield server
    server.process.stop()


def shared_gateway(fake, work, redis, name: str) -> Gateway:
    spool = work / f"spool-{name}"
    spool.mkdir(exist_ok=True)
    return Gateway(fake, spool, extra=f"""redis: {{address: "{redis.address}"}}
batch: {{lease_interval: 200ms, cancel_poll_interval: 100ms, max_files_in_flight: 2}}""")


def test_any_replica_answers_for_an_operation_and_its_cancel(fake, work, redis, clips):
    first = shared_gateway(fake, work, redis, "a")
    second = shared_gateway(fake, work, redis, "b")
    try:
        fake.default(latency_ms=20)
        with voxgate.Client(first.address, timeout_s=60) as one, \
                voxgate.Client(second.address, timeout_s=60) as other:
            operation = one.start_batch(clips[:6])
            seen = other.get_operation(operation.name)
            assert seen.name == operation.name
            assert voxgate._batch.progress_dict(seen)["files_total"] == 6
            ended = other.wait_operation(operation.name, 60)
            assert ended.done and ended.HasField("response")
            results = voxgate._batch.results_of(ended)
            assert [r["error"] for r in results] == [None] * 6
            # A cancel sent to the replica that does not run the batch stops it.
            fake.default(hang=True)
            running = one.start_batch(clips[:6])
            wait_for(lambda: fake.in_flight() >= 2, 60, "the second batch's chunks upstream")
            other.cancel_operation(running.name)
            # The pending cancel sits in Redis beside the record; a name that
            # reaches it says nothing more than a name that reaches nothing.
            for probe in (running.name + ":cancel", running.name[:-1] + "0:cancel"):
                with pytest.raises(voxgate.VoxgateError) as hidden:
                    other.get_operation(probe)
                assert hidden.value.code == grpc.StatusCode.NOT_FOUND, hidden.value
            ended = one.wait_operation(running.name, 30)
            assert ended.done and ended.error.code == grpc.StatusCode.CANCELLED.value[0]
            wait_for(lambda: fake.in_flight() == 0, 30, "its chunks cancelled")
    finally:
        fake.default()
        first.stop()
        second.stop()


def test_a_full_operations_store_refuses_batches_clearly_and_nothing_else(fake, work,
                                                                          redis, clips):
    # Operation records in a Redis of their own at its maxmemory (noeviction,
    # as the prod overlay runs it); the limits' Redis is the other one.
    records = Redis("--maxmemory-policy", "noeviction")
    spool = work / "spool-full"
    spool.mkdir(exist_ok=True)
    gateway = Gateway(fake, spool, extra=f"""redis: {{address: "{redis.address}",
        operations_address: "{records.address}"}}""")
    try:
        with voxgate.Client(gateway.address, timeout_s=60) as client:
            running = client.start_batch(clips[:1])
            assert client.wait_operation(running.name, 60).done
            records.fill()
            # Redis refused that one write: the batch is refused naming the
            # cause, not "unreachable", and the connection stays in step.
            with pytest.raises(voxgate.VoxgateError) as full:
                client.start_batch(clips[:1])
            assert full.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED, full.value
            assert "operations store is full" in str(full.value)
            # Reads still work on the same connection, and everything else is
            # served.
            assert client.get_operation(running.name).done
            assert client.transcribe_audio(clips[0])["text"]
            # Room again: batches are taken at once, no reconnect needed.
            records.cli("CONFIG", "SET", "maxmemory", "0")
            again = client.start_batch(clips[:1])
            assert client.wait_operation(again.name, 60).done
    finally:
        gateway.stop()
        records.kill()


def test_queued_batches_are_bounded_in_count_and_in_inline_audio(fake, work, redis, clips):
    # One batch runs (its chunks hang at the fake), one may wait; sixteen
    # submitted at once through a Redis store (whose writes answer later)
    # get no more than that, however they interleave.
    spool = work / "spool-queue"
    spool.mkdir(exist_ok=True)
    gateway = Gateway(fake, spool, extra=f"""redis: {{address: "{redis.address}"}}
batch: {{max_running: 1, max_queued: 1, max_inline_bytes: {3 * len(clips[0]) + (1 << 20)}}}""")
    fake.default(hang=True)
    try:
        with voxgate.Client(gateway.address, timeout_s=60) as client:
            outcomes = []

            def submit():
                try:
                    outcomes.append(client.start_batch(clips[:1]).name)
                except voxgate.VoxgateError as refused:
                    outcomes.append(refused)

            threads = [threading.Thread(target=submit) for _ in range(16)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            accepted = [o for o in outcomes if isinstance(o, str)]
            refused = [o for o in outcomes if not isinstance(o, str)]
            assert len(outcomes) == 16
            assert len(accepted) == 2, outcomes
            assert all(r.code == grpc.StatusCode.RESOURCE_EXHAUSTED and
                       "batch.max_queued (1)" in str(r) for r in refused), refused
            # Inline audio: what the two accepted hold plus a big one is more
            # than batch.max_inline_bytes allows.
            with pytest.raises(voxgate.VoxgateError) as heavy:
                client.start_batch([clips[0] + bytes(1 << 20)])
            assert heavy.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "batch.max_inline_bytes" in str(heavy.value)
            # Ended batches give their bytes and places back.
            for name in accepted:
                client.cancel_operation(name)
            wait_for(lambda: all(client.get_operation(n).done for n in accepted), 60,
                     "the cancelled batches ended")
            fake.default()
            again = client.start_batch(clips[:1])
            assert client.wait_operation(again.name, 60).done
    finally:
        fake.default()
        gateway.stop()


def test_a_dead_replicas_operation_ends_aborted_with_what_it_finished(fake, work, redis,
                                                                      clips):
    doomed = shared_gateway(fake, work, redis, "doomed")
    survivor = shared_gateway(fake, work, redis, "survivor")
    try:
        with voxgate.Client(doomed.address, timeout_s=60) as one, \
                voxgate.Client(survivor.address, timeout_s=60) as other:
            # Two files' chunks are answered; every later one hangs.
            fake.script("/v1/audio/transcriptions", 2)
            fake.default(hang=True)
            operation = one.start_batch(clips[:8])
            wait_for(lambda: voxgate._batch.progress_dict(
                other.get_operation(operation.name))["files_done"] == 2, 60,
                "two files done")
            doomed.process.process.send_signal(signal.SIGKILL)
            doomed.process.process.wait(30)
            # The lease (3 x 200 ms) lapses; the next read ends the operation.
            wait_for(lambda: other.get_operation(operation.name).done, 30,
                     "the operation ended by the surviving replica")
            ended = other.get_operation(operation.name)
            assert ended.error.code == grpc.StatusCode.ABORTED.value[0]
            assert "not resumed" in ended.error.message
            results = voxgate._batch.results_of(ended)
            finished = [r for r in results if r["error"] is None]
            assert len(finished) == 2
            assert all(CHUNK_ANSWER_TEXT in r["result"]["text"] for r in finished)
            assert all(r["error"].code == grpc.StatusCode.ABORTED
                       for r in results if r["error"] is not None)
    finally:
        fake.default()
        survivor.stop()
        doomed.process.stop()


def test_the_cli_batch_command_shows_progress_and_each_result(batch_gateway, fake, clips,
                                                              work):
    paths = []
    for i, clip in enumerate(clips[:3]):
        path = work / f"cli-clip{i}.mp3"
        path.write_bytes(clip)
        paths.append(str(path))
    broken = work / "cli-broken.mp3"
    broken.write_bytes(b"definitely not audio" * 50)
    paths.append(str(broken))
    fake.default(latency_ms=200)
    try:
        done = subprocess.run([CLI_BIN, f"--address={batch_gateway.address}", "batch",
                               *paths, "--progress", "--poll=100ms"],
                              capture_output=True, text=True, timeout=120)
    finally:
        fake.default()
    # The corrupt file's INVALID_ARGUMENT is the exit code; the others printed.
    assert done.returncode == 3, done.stderr
    assert done.stdout.count(CHUNK_ANSWER_TEXT) == 3
    assert f"== {broken} FAILED: audio" in done.stdout
    assert "operation operations/batch-" in done.stderr
    lines = [line for line in done.stderr.splitlines() if "files (" in line]
    assert lines[-1].startswith("[" + "#" * 30 + "] 4/4 files (0 running, 1 failed)")
    counts = [int(line.split("] ")[1].split("/")[0]) for line in lines]
    assert counts == sorted(counts) and len(set(counts)) >= 2


def test_too_many_files_and_a_store_that_is_down_are_refused_clearly(fake, work, clips):
    """More files than batch.max_files: INVALID_ARGUMENT naming the key. Redis
    down: UNAVAILABLE naming the store, and nothing half-created."""
    store = Redis()
    spool = work / "spool-limits"
    spool.mkdir(exist_ok=True)
    gateway = Gateway(fake, spool, extra=f"""redis: {{address: "{store.address}"}}
batch: {{max_files: 3}}""")
    try:
        with voxgate.Client(gateway.address, timeout_s=30) as client:
            with pytest.raises(voxgate.InvalidRequestError) as refused:
                client.start_batch(clips[:4])
            assert "batch.max_files (3)" in refused.value.message
            store.kill()
            with pytest.raises(voxgate.VoxgateError) as down:
                client.start_batch(clips[:2])
            assert down.value.code == grpc.StatusCode.UNAVAILABLE
            assert "operations store (Redis)" in down.value.message
    finally:
        gateway.stop()
        store.process.stop()
