"""The official openai SDK against the gateway's OpenAI-compatible API."""

import base64
import json
import subprocess
import threading
import wave

import openai
import pytest

from conftest import SENTENCE, Gateway, wait_for, word_errors, words


@pytest.fixture
def client(gateway):
    # Retries off: each test sees exactly the gateway's answer.
    return openai.OpenAI(base_url=gateway.api, api_key="unused", max_retries=0,
                         timeout=60)


def test_chat_completion_plain(client, gateway, fake):
    reply = client.chat.completions.create(
        model="llama3", messages=[{"role": "user", "content": "ping pong"}],
        temperature=0.2, max_tokens=20)
    assert reply.choices[0].message.content == "echo: ping pong"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.object == "chat.completion"
    assert reply.usage.completion_tokens == 3
    sent = fake.requests()[-1]["json"]
    assert sent["temperature"] == pytest.approx(0.2)
    assert sent["max_tokens"] == 20
    # One code path: the call is logged as gRPC's Chat is.
    wait_for(lambda: any(line["request_id"] == reply.id.removeprefix("chatcmpl-")
                         and line["code"] == "OK" for line in gateway.log_lines("Chat")),
             10, "the call's log line")


def test_chat_completion_streaming_with_usage(client):
    stream = client.chat.completions.create(
        model="llama3", messages=[{"role": "user", "content": "one two three"}],
        stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: one two three"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and all(f is None for f in finishes[:-1])
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4
    assert len({c.id for c in chunks}) == 1


def test_chat_tool_calls_plain_and_streamed(client):
    tools = [{"type": "function", "function": {
        "name": "lookup", "parameters": {"type": "object",
                                         "properties": {"text": {"type": "string"}}}}}]
    messages = [{"role": "user", "content": "find cats"}]
    reply = client.chat.completions.create(model="llama3", messages=messages,
                                           tools=tools, tool_choice="required")
    call = reply.choices[0].message.tool_calls[0]
    assert reply.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "lookup"
    assert json.loads(call.function.arguments) == {"text": "find cats"}

    pieces = {}
    for chunk in client.chat.completions.create(model="llama3", messages=messages,
                                                tools=tools, stream=True):
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            entry = pieces.setdefault(delta.index, {"name": "", "arguments": ""})
            entry["name"] += delta.function.name or ""
            entry["arguments"] += delta.function.arguments or ""
    assert pieces[0]["name"] == "lookup"
    assert json.loads(pieces[0]["arguments"]) == {"text": "find cats"}

    answer = client.chat.completions.create(model="llama3", messages=messages + [
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "3 cats"}], tools=tools)
    assert answer.choices[0].message.content == f"tool {call.id} said: 3 cats"


def test_response_format_reaches_the_upstream(client, fake):
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    client.chat.completions.create(
        model="llama3", messages=[{"role": "user", "content": "x"}],
        response_format={"type": "json_schema",
                         "json_schema": {"name": "n", "schema": schema}})
    sent = fake.requests()[-1]["json"]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"] == schema
    client.chat.completions.create(
        model="llama3", messages=[{"role": "user", "content": "x"}],
        response_format={"type": "json_object"})
    assert fake.requests()[-1]["json"]["response_format"] == {"type": "json_object"}


def test_chat_with_input_audio_routes_like_grpc(client, speech_wav):
    audio = base64.b64encode(speech_wav.read_bytes()).decode()
    # No pool takes audio chat: the same routing (and refusal) as gRPC Chat.
    with pytest.raises(openai.NotFoundError) as error:
        client.chat.completions.create(model="llama3", messages=[{
            "role": "user", "content": [
                {"type": "text", "text": "what is said?"},
                {"type": "input_audio", "input_audio": {"data": audio, "format": "wav"}}]}])
    assert "openai_chat_audio" in error.value.message


@pytest.mark.parametrize("encoding", ["wav", "flac"])
def test_streamed_chat_with_audio_answers_as_unary(client, fake, speech_wav, tmp_path, encoding):
    path = speech_wav
    if encoding != "wav":
        path = tmp_path / f"speech.{encoding}"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(speech_wav), str(path)],
                       check=True)
    audio = base64.b64encode(path.read_bytes()).decode()
    messages = [{"role": "user", "content": [
        {"type": "text", "text": "what is said?"},
        {"type": "input_audio", "input_audio": {"data": audio, "format": encoding}}]}]
    unary = client.chat.completions.create(model="voxtral", messages=messages)
    stream = client.chat.completions.create(model="voxtral", messages=messages, stream=True)
    streamed = "".join(chunk.choices[0].delta.content or ""
                       for chunk in stream if chunk.choices)
    assert streamed == unary.choices[0].message.content
    # Both went upstream as WAV (FLAC transcoded), the same bytes both times.
    sent = [request["json"]["messages"][0]["content"][1]["input_audio"]
            for request in fake.requests() if request["path"] == "/v1/chat/completions"]
    assert [part["format"] for part in sent] == ["wav", "wav"]
    assert sent[0]["data"] == sent[1]["data"]


@pytest.mark.parametrize("response_format", ["json", "text", "srt", "vtt", "verbose_json"])
def test_transcriptions_each_response_format(client, speech_wav, response_format):
    with open(speech_wav, "rb") as audio:
        reply = client.audio.transcriptions.create(
            model="pocketsphinx-en-us", file=audio, response_format=response_format,
            language="en")
    if response_format in ("json", "verbose_json"):
        text = reply.text
    else:
        text = reply if isinstance(reply, str) else reply.text
    if response_format == "srt":
        assert text.startswith("1\n00:00:") and " --> " in text
    if response_format == "vtt":
        assert text.startswith("WEBVTT")
    if response_format == "verbose_json":
        with wave.open(str(speech_wav)) as wav:
            seconds = wav.getnframes() / wav.getframerate()
        assert reply.duration == pytest.approx(seconds, abs=0.05)
        assert len(reply.segments) >= 1
        assert reply.segments[0].end > reply.segments[0].start
    spoken = words(text.split("-->")[-1] if response_format in ("srt", "vtt") else text)
    assert word_errors(words(SENTENCE), spoken) <= 1, text


def test_translation_warns_when_the_engine_cannot_translate(client, speech_wav):
    with open(speech_wav, "rb") as audio:
        reply = client.audio.translations.create(model="pocketsphinx-en-us", file=audio)
    assert word_errors(words(SENTENCE), words(reply.text)) <= 1
    assert any("translat" in warning for warning in reply.model_extra["warnings"])


def test_models_list(client):
    ids = {model.id for model in client.models.list()}
    assert {"llama3", "pocketsphinx-en-us"} <= ids


def test_errors_raise_the_sdks_exception_classes(client, fake):
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="llama3", messages=[{"role": "robot"}])
    assert "messages[0].role" in bad.value.message
    assert bad.value.code == "invalid_argument"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model",
                                       messages=[{"role": "user", "content": "x"}])
    fake.script({"status": 503}, times=10)
    with pytest.raises(openai.InternalServerError) as unavailable:
        client.chat.completions.create(model="llama3",
                                       messages=[{"role": "user", "content": "x"}])
    assert unavailable.value.status_code == 503
    assert unavailable.value.response.headers["retry-after"] == "1"


def test_limits_answer_429_rate_limit_error(fake):
    tight = Gateway(fake, "limits:\n  max_concurrent_calls: 1\n  max_waiting_calls: 0")
    try:
        fake.script({"hang": True})
        held = threading.Thread(target=_call_ignoring_errors, args=(tight.api,))
        held.start()
        wait_for(lambda: fake.in_flight() == 1, 20, "the held call to reach the fake")
        client = openai.OpenAI(base_url=tight.api, api_key="unused", max_retries=0)
        with pytest.raises(openai.RateLimitError) as limited:
            client.chat.completions.create(model="llama3",
                                           messages=[{"role": "user", "content": "x"}])
        assert limited.value.response.headers["retry-after"] == "1"
        assert "max_concurrent_calls" in limited.value.message
    finally:
        tight.stop()  # cancels the held call
        held.join(30)


def _call_ignoring_errors(api: str) -> None:
    try:
        openai.OpenAI(base_url=api, api_key="unused", max_retries=0).chat.completions.create(
            model="llama3", messages=[{"role": "user", "content": "hold"}])
    except openai.OpenAIError:
        pass
