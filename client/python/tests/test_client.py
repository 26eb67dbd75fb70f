"""The sync client against the real gateway and the fake upstream."""

from __future__ import annotations

import base64
import time

import pytest

import voxgate
from conftest import tone_wav


@pytest.fixture(scope="module")
def client(gateway):
    with voxgate.Client(gateway, timeout_s=30) as client:
        yield client


def test_transcribe_audio_returns_openai_shaped_text_and_segments(client, fake):
    result = client.transcribe_audio(tone_wav(2.0))
    # The fake describes the audio it received: the gateway sent 16 kHz mono.
    assert "at 16000 Hz 1 ch" in result["text"]
    assert result["duration"] == pytest.approx(2.0, abs=0.01)
    assert result["segments"] and result["segments"][0]["start"] == pytest.approx(0, abs=0.3)
    assert result["request_id"]
    assert len(fake.requests()) == 1


def test_transcribe_audio_from_a_path_with_subtitles(client, tmp_path):
    path = tmp_path / "tone.wav"
    path.write_bytes(tone_wav(1.5))
    result = client.transcribe_audio(str(path), response_format="srt")
    assert " --> " in result["srt"]


def test_transcribe_batch_gives_each_item_its_result_or_error(client, fake):
    fake.default(latency_ms=300)
    files = [tone_wav(1.0 + i * 0.5) for i in range(5)] + [b"not audio at all" * 64]
    progress = []
    results = client.transcribe_batch(files, on_progress=progress.append, poll_s=0.1)
    assert [r["id"] for r in results] == [str(i) for i in range(6)]
    durations = [r["result"]["duration"] for r in results[:5]]
    assert durations == pytest.approx([1.0, 1.5, 2.0, 2.5, 3.0], abs=0.01)
    assert isinstance(results[5]["error"], voxgate.AudioProcessingError)
    assert results[5]["result"] is None
    # Files run concurrently on the gateway (batch.max_files_in_flight: 4).
    assert max(r["in_flight_at_arrival"] for r in fake.requests()) >= 3
    assert progress[-1]["done"] and progress[-1]["files_done"] == 6


def test_chat_completion_takes_and_returns_openai_dicts(client, fake):
    fake.default(text="Bonjour.")
    reply = client.chat_completion(
        [{"role": "system", "content": "Translate to French."},
         {"role": "user", "content": "Hello."}],
        model="llama3", temperature=0.2, max_tokens=20, stop=["\n"])
    assert reply["object"] == "chat.completion"
    assert reply["choices"][0]["message"] == {"role": "assistant", "content": "Bonjour."}
    assert reply["choices"][0]["finish_reason"] == "stop"
    assert reply["usage"]["total_tokens"] > 0


def test_chat_completion_sends_audio_parts(client, fake):
    fake.default(text="A tone.")
    audio = base64.b64encode(tone_wav(1.0)).decode()
    reply = client.chat_completion(
        [{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "input_audio", "input_audio": {"data": audio, "format": "wav"}}]}],
        model="voxtral")
    assert reply["choices"][0]["message"]["content"] == "A tone."
    assert fake.requests()[0]["audio"][0]["sample_rate"] == 16000


def test_chat_stream_yields_deltas(client, fake):
    fake.default(text="one two three four")
    deltas = list(client.chat_stream([{"role": "user", "content": "count"}]))
    assert len(deltas) > 1
    assert "".join(deltas) == "one two three four"


def test_chat_stream_ends_with_finish_reason_usage_and_model(client, fake):
    fake.default(text="one two three")
    stream = client.chat_stream([{"role": "user", "content": "count"}])
    assert "".join(stream) == "one two three"
    assert stream.finish_reason == "stop"
    assert stream.usage["completion_tokens"] == 3
    assert stream.model == "llama3"


def test_usage_counts_audio_tokens_once(client):
    reply = client.chat_completion([{"role": "user", "content": "hi"}])
    usage = reply["usage"]
    assert usage["prompt_tokens"] + usage["completion_tokens"] == usage["total_tokens"]


def test_json_schema_strict_is_sent(client, fake):
    client.chat_completion(
        [{"role": "user", "content": "hi"}],
        response_format={"type": "json_schema", "json_schema": {
            "name": "a", "schema": {"type": "object"}, "strict": True}})
    sent = fake.requests()[0]["json"]["response_format"]["json_schema"]
    assert sent["strict"] is True


WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather now",
    "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}}}


def test_tool_calls_round_trip_in_openai_shape(client, fake):
    messages = [{"role": "user", "content": "weather in Oslo"}]
    first = client.chat_completion(messages, tools=[WEATHER_TOOL], tool_choice="required")
    choice = first["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    call = choice["message"]["tool_calls"][0]
    assert call["function"]["name"] == "get_weather"
    assert fake.requests()[0]["json"]["tool_choice"] == "required"

    messages += [choice["message"],
                 {"role": "tool", "tool_call_id": call["id"], "content": "-3 C"}]
    second = client.chat_completion(messages, tools=[WEATHER_TOOL])
    assert second["choices"][0]["message"]["content"] == f"tool {call['id']} said: -3 C"
    sent = fake.requests()[1]["json"]["messages"]
    assert sent[1]["tool_calls"][0]["id"] == call["id"]


def test_streamed_tool_calls_are_assembled(client):
    stream = client.chat_stream([{"role": "user", "content": "weather"}],
                                tools=[WEATHER_TOOL])
    assert "".join(stream) == ""
    assert stream.finish_reason == "tool_calls"
    assert stream.tool_calls[0]["function"]["name"] == "get_weather"
    assert stream.tool_calls[0]["function"]["arguments"] == '{"text":"weather"}'


def test_analyze_audio_cascade_returns_transcript_and_answer(client, fake):
    result = client.analyze_audio(tone_wav(1.0), "Summarise.", mode="cascade")
    assert "frames" in result["transcript"]
    assert result["answer"]


def test_analyze_audio_lets_the_server_pick_and_skips_the_extra_transcription(client, fake):
    fake.default(text="A tone.")
    result = client.analyze_audio(tone_wav(1.0), "What is it?")
    # An audio chat model is configured, so DIRECT: one upstream request, no
    # transcription before it.
    assert result["mode"] == "direct"
    assert result["answer"] == "A tone."
    assert [r["path"] for r in fake.requests()] == ["/v1/chat/completions"]
    assert result["model_seconds"] > 0


def test_list_models(client):
    models = {m["id"]: m for m in client.list_models()}
    assert {"whisper-1", "voxtral", "llama3"} <= set(models)
    assert "transcribe" in models["whisper-1"]["capabilities"]
    assert models["llama3"]["available"]


def test_stream_transcribe_yields_final_results_in_order(client, speech_wav):
    results = list(client.stream_transcribe(speech_wav, realtime=False,
                                            interim_results=False))
    finals = [r for r in results if r["is_final"]]
    assert [r["utterance_index"] for r in finals] == [0, 1]
    assert finals[0]["end"] < finals[1]["start"]


def test_stream_transcribe_from_an_iterator_of_chunks(client, speech_wav):
    pcm = speech_wav[44:]
    chunks = (pcm[i:i + 3200] for i in range(0, len(pcm), 3200))
    finals = [r for r in client.stream_transcribe(chunks, interim_results=False)
              if r["is_final"]]
    assert len(finals) == 2


@pytest.mark.parametrize("status,kind", [
    (400, voxgate.InvalidRequestError),
    (404, voxgate.ModelNotFoundError),
    (429, voxgate.OverloadedError),
])
def test_upstream_errors_raise_typed_exceptions(client, fake, status, kind):
    fake.default(status=status)
    with pytest.raises(kind) as raised:
        client.chat_completion([{"role": "user", "content": "hi"}])
    assert raised.value.request_id


def test_bad_audio_is_an_audio_processing_error(client):
    with pytest.raises(voxgate.AudioProcessingError) as raised:
        client.transcribe_audio(b"this is not audio at all" * 10)
    assert raised.value.code.name == "INVALID_ARGUMENT"


def test_timeout_is_upstream_timeout(client, fake):
    fake.default(latency_ms=3000)
    with pytest.raises(voxgate.UpstreamTimeoutError):
        client.chat_completion([{"role": "user", "content": "hi"}], timeout_s=0.5)


def test_module_functions_use_voxgate_address(gateway, fake, monkeypatch):
    monkeypatch.setenv("VOXGATE_ADDRESS", gateway)
    monkeypatch.setattr(voxgate, "_default", None)
    assert voxgate.list_models()
    assert "frames" in voxgate.transcribe_audio(tone_wav(1.0))["text"]


def test_unreachable_upstream_is_upstream_unavailable_after_retries(client, fake):
    fake.default(status=503)
    with pytest.raises(voxgate.UpstreamUnavailableError):
        client.chat_completion([{"role": "user", "content": "hi"}])
    # The client retried UNAVAILABLE: more than one call reached the gateway,
    # each of which the gateway itself retried upstream.
    assert len(fake.requests()) > 3
    # The failures ejected the endpoint; let it recover for whatever runs next.
    fake.reset()
    deadline = time.monotonic() + 30
    while True:
        try:
            client.chat_completion([{"role": "user", "content": "hi"}])
            break
        except voxgate.UpstreamUnavailableError:
            assert time.monotonic() < deadline
            time.sleep(0.2)


def test_transcribe_batch_past_its_timeout_cancels_the_operation(client, fake):
    fake.default(hang=True)
    try:
        with pytest.raises(voxgate.UpstreamTimeoutError):
            client.transcribe_batch([tone_wav(1.0)] * 3, poll_s=0.1, timeout_s=0.5)
        newest = client.list_operations()[0]
        ended = client.wait_operation(newest.name, 30)
        assert ended.done and ended.error.code == 1  # CANCELLED
    finally:
        fake.default()
