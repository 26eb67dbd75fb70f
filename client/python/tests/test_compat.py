"""voxgate.compat: the inference-gateway library's names, signatures, return
types and errors, against the real gateway and the fake upstream."""

from __future__ import annotations

import asyncio
import time

import pytest

from conftest import tone_wav
from voxgate import compat


@pytest.fixture
def config(gateway):
    return compat.GatewayConfig(gateway, text_base_url="http://ignored/v1",
                                text_model="llama3", timeout=30)


async def test_transcribe_audio_returns_the_text(config):
    text = await compat.transcribe_audio(tone_wav(1.0), config)
    assert isinstance(text, str) and "at 16000 Hz 1 ch" in text


async def test_analyze_audio_returns_the_answer(config, fake):
    fake.default(text="It is a tone.")
    answer = await compat.analyze_audio(tone_wav(1.0), "What is it?", config,
                                        system_prompt_prefix="Be brief.")
    assert answer == "It is a tone."


async def test_chat_completion_returns_openai_dict(config, fake):
    reply = await compat.chat_completion([{"role": "user", "content": "hi"}], config,
                                         temperature=0.2, max_tokens=5)
    assert reply["object"] == "chat.completion"
    assert reply["choices"][0]["message"]["content"] == "echo: hi"
    assert reply["model"] == "llama3"
    sent = fake.requests()[0]["json"]
    assert sent["temperature"] == 0.2 and sent["max_tokens"] == 5


async def test_list_models_is_openai_list(config):
    models = await compat.list_models(config)
    assert models["object"] == "list"
    assert {"whisper-1", "voxtral", "llama3"} <= {m["id"] for m in models["data"]}


async def test_errors_are_the_library_classes(config, fake):
    with pytest.raises(compat.AudioProcessingError) as audio_error:
        await compat.transcribe_audio(b"not audio at all", config)
    assert audio_error.value.error_type == "decode"
    assert audio_error.value.message

    fake.default(status=503)
    with pytest.raises(compat.UpstreamUnreachableError) as unreachable:
        await compat.chat_completion([{"role": "user", "content": "hi"}], config)
    assert unreachable.value.upstream == "llm"
    assert isinstance(unreachable.value, compat.UpstreamError)
    # The failures ejected the endpoint for a moment: wait until it serves
    # again, so that the calls below (and other tests) meet a healthy pool.
    fake.default()
    deadline = time.monotonic() + 60
    while True:
        try:
            await compat.chat_completion([{"role": "user", "content": "hi"}], config)
            break
        except compat.UpstreamError:
            assert time.monotonic() < deadline, "the pool never recovered"
            await asyncio.sleep(0.1)

    fake.script("/v1/chat", times=1, latency_ms=3000)
    slow = compat.GatewayConfig(config.voxgate_address, timeout=0.5)
    with pytest.raises(compat.UpstreamTimeoutError):
        await compat.chat_completion([{"role": "user", "content": "hi"}], slow)
    with pytest.raises(compat.ConfigurationError):
        await compat.chat_completion([{"role": "user", "content": "hi"}], config,
                                     model="no-such-model")
    with pytest.raises(compat.InvalidRequestError):
        await compat.chat_completion([{"role": "user", "content": "hi"}], config,
                                     temperature=5)
