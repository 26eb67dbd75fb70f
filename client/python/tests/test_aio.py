"""The asyncio client against the real gateway and the fake upstream."""

from __future__ import annotations

import asyncio

import pytest

import voxgate
from conftest import tone_wav


@pytest.fixture
async def client(gateway):
    async with voxgate.AsyncClient(gateway, timeout_s=30) as client:
        yield client


async def test_transcribe_audio(client):
    result = await client.transcribe_audio(tone_wav(1.5))
    assert "at 16000 Hz 1 ch" in result["text"]
    assert result["duration"] == pytest.approx(1.5, abs=0.01)


async def test_transcribe_batch_runs_as_one_operation(client, fake):
    fake.default(latency_ms=100)
    results = await client.transcribe_batch([tone_wav(1.0)] * 6, ids=list("abcdef"),
                                             poll_s=0.1)
    assert [r["id"] for r in results] == list("abcdef")
    assert all(r["error"] is None and "at 16000 Hz" in r["result"]["text"] for r in results)
    operations = await client._unary(client._operations.ListOperations,
                                     voxgate._batch.operations_pb2.ListOperationsRequest(),
                                     None)
    assert any(op.done for op in operations.operations)


async def test_chat_completion_and_stream(client, fake):
    fake.default(text="alpha beta gamma")
    reply = await client.chat_completion([{"role": "user", "content": "hi"}])
    assert reply["choices"][0]["message"]["content"] == "alpha beta gamma"
    deltas = [d async for d in client.chat_stream([{"role": "user", "content": "hi"}])]
    assert "".join(deltas) == "alpha beta gamma" and len(deltas) > 1


async def test_leaving_chat_stream_early_aborts_the_upstream_request(client, fake):
    fake.default(text=" ".join(["word"] * 200), chunk_interval_ms=20)
    async for _ in client.chat_stream([{"role": "user", "content": "hi"}]):
        break
    for _ in range(100):
        requests = fake.requests()
        if requests and requests[-1]["client_closed_early"]:
            break
        await asyncio.sleep(0.05)
    assert fake.requests()[-1]["client_closed_early"]


async def test_stream_transcribe_from_a_file_and_from_an_async_iterator(client, speech_wav):
    finals = [r async for r in client.stream_transcribe(
        speech_wav, realtime=False, interim_results=False) if r["is_final"]]
    assert [r["utterance_index"] for r in finals] == [0, 1]

    async def microphone():
        pcm = speech_wav[44:]
        for offset in range(0, len(pcm), 3200):
            yield pcm[offset:offset + 3200]

    finals = [r async for r in client.stream_transcribe(microphone(), interim_results=False)
              if r["is_final"]]
    assert len(finals) == 2


async def test_stream_transcribe_at_real_time_pace_sends_interims_first(client, fake,
                                                                        speech_wav):
    fake.default(latency_ms=50)
    results = [r async for r in client.stream_transcribe(speech_wav, realtime=True)]
    first_final = next(i for i, r in enumerate(results) if r["is_final"])
    assert any(not r["is_final"] for r in results[:first_final])


async def test_typed_exceptions(client, fake):
    fake.default(status=400)
    with pytest.raises(voxgate.InvalidRequestError):
        await client.chat_completion([{"role": "user", "content": "hi"}])
    with pytest.raises(voxgate.AudioProcessingError):
        await client.transcribe_audio(b"not audio" * 100)


async def test_list_models(client):
    models = {m["id"]: m for m in await client.list_models()}
    assert {"whisper-1", "voxtral", "llama3"} <= set(models)
    assert models["llama3"]["configured"]
    # What the upstream itself reports is listed too.
    assert models["fake-model"]["configured"] is False
    assert models["fake-model"]["listed_by_server"] is True
