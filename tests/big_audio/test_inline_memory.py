"""Transcribe's inline audio is decoded chunk by chunk: a file that decodes to
gigabytes costs the gateway a few chunks, and audio.max_decoded_bytes bounds
what all calls together hold (issue 27)."""

from __future__ import annotations

import random

import grpc
import pytest

from conftest import CHUNK_ANSWER_TEXT as CHUNK_ANSWER
from conftest import Gateway
from voxgate.v1 import audio_pb2, service_pb2_grpc, transcribe_pb2

MIB = 1 << 20


def mulaw_noise(seconds: int) -> bytes:
    """Raw 8 kHz mono G.711 mu-law noise: one byte a sample, nothing to decode
    away, so its size is exactly its length."""
    return random.Random(27).randbytes(8000 * seconds)


def transcribe(gateway: Gateway, content: bytes, rate: int, channels: int):
    request = transcribe_pb2.TranscribeRequest(
        audio=audio_pb2.AudioInput(content=content, format=audio_pb2.AudioFormat(
            encoding=audio_pb2.AUDIO_ENCODING_MULAW, sample_rate_hertz=8000,
            channel_count=1)),
        config=audio_pb2.RecognitionConfig(preprocessing=audio_pb2.PreprocessingConfig(
            target_sample_rate_hertz=rate, target_channel_count=channels)))
    with grpc.insecure_channel(gateway.address, options=[
            ("grpc.max_send_message_length", 64 * MIB)]) as channel:
        return service_pb2_grpc.VoxgateServiceStub(channel).Transcribe(request, timeout=600)


def test_a_file_that_decodes_to_gigabytes_costs_a_few_chunks(fake, work):
    # 35 minutes of 8 kHz mu-law (16 MiB) asked for at 48 kHz stereo is 806 MB
    # of float PCM and 403 MB of WAV when decoded whole, as it was.
    spool = work / "inline-spool"
    spool.mkdir(exist_ok=True)
    gateway = Gateway(fake, spool)
    try:
        transcribe(gateway, mulaw_noise(60), 16000, 1)  # warm up
        before = gateway.peak_rss_bytes()
        answer = transcribe(gateway, mulaw_noise(35 * 60), 48000, 2)
        added = gateway.peak_rss_bytes() - before
        print(f"peak RSS added by 35 min at 48 kHz stereo: {added / MIB:.0f} MiB")
        # Every chunk was cut, sent and stitched, in order.
        assert answer.audio_duration.seconds in (2099, 2100)
        assert answer.text.count("at 48000 Hz 2 ch") >= 70, answer.text[:200]
        # The input (16 MiB) held while decoding, ten 30 s chunks of 48 kHz
        # stereo WAV (5.5 MiB each) and the decoder's working set.
        assert added < 160 * MIB
    finally:
        gateway.stop()


def test_decoded_audio_over_all_calls_is_bounded_and_named(fake, work):
    spool = work / "budget-spool"
    spool.mkdir(exist_ok=True)
    gateway = Gateway(fake, spool, audio_extra="max_decoded_bytes: 16777216")
    try:
        # One 30 s chunk of 48 kHz stereo needs more than 16 MiB at a time.
        with pytest.raises(grpc.RpcError) as refused:
            transcribe(gateway, mulaw_noise(60), 48000, 2)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "audio.max_decoded_bytes (16777216 bytes)" in refused.value.details()
        # What fits is served, before and after, and nothing is left held.
        for _ in range(2):
            answer = transcribe(gateway, mulaw_noise(5 * 60), 16000, 1)
            assert answer.text.count(CHUNK_ANSWER) >= 10
        assert gateway.process.death() is None
    finally:
        gateway.stop()
