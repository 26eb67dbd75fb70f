"""Voxgate in front of a real llama.cpp llama-server (SmolLM2-135M-Instruct):
the same answers as the server gives directly, parameters that take effect,
streaming as the model generates, tool calls, faults and the voice-assistant
pipeline (embedded ASR, then the model)."""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
import time

import grpc
import pytest

from conftest import Gateway, LLAMA_CONFIG, LlamaServer, free_port, wait_for
from voxgate.v1 import audio_pb2, chat_pb2, models_pb2, transcribe_pb2

PROMPT = "Name three colours of the rainbow."


# llama-server reuses a slot's cached prompt prefix, which changes how the
# prompt is batched and so, in rare near-ties, the greedy token: answers that
# must match are computed without the cache.
NO_PROMPT_CACHE = {"cache_prompt": "false"}


def request(text: str = PROMPT, **generation) -> chat_pb2.ChatRequest:
    return chat_pb2.ChatRequest(
        messages=[chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER,
                                       content=[chat_pb2.ContentPart(text=text)])],
        generation=chat_pb2.GenerationConfig(**generation),
        backend_options=NO_PROMPT_CACHE)


def direct(llama: LlamaServer, text: str = PROMPT, **params) -> dict:
    return llama.chat({"messages": [{"role": "user", "content": text}],
                       "cache_prompt": False, **params})


FINISH = {"stop": chat_pb2.FINISH_REASON_STOP, "length": chat_pb2.FINISH_REASON_LENGTH,
          "tool_calls": chat_pb2.FINISH_REASON_TOOL_CALLS}


def assert_same_answer(reply: chat_pb2.ChatResponse, expected: dict) -> None:
    choice = expected["choices"][0]
    assert reply.content == choice["message"]["content"]
    assert reply.finish_reason == FINISH[choice["finish_reason"]]
    assert reply.usage.input_tokens == expected["usage"]["prompt_tokens"]
    assert reply.usage.output_tokens == expected["usage"]["completion_tokens"]
    assert reply.usage.total_tokens == expected["usage"]["total_tokens"]


def test_chat_gives_what_llama_server_gives_directly(llama, llama_gateway):
    params = dict(temperature=0.0, seed=42, max_tokens=40)
    expected = direct(llama, **params)
    reply = llama_gateway.stub.Chat(request(**params), timeout=120)
    assert_same_answer(reply, expected)
    assert reply.model == expected["model"]


@pytest.mark.parametrize("params", [
    dict(max_tokens=5, temperature=0.0, seed=1),
    dict(max_tokens=30, top_p=0.5, temperature=0.7, seed=7),
    dict(max_tokens=30, presence_penalty=1.5, frequency_penalty=1.5, temperature=0.0),
])
def test_generation_parameters_reach_the_model(llama, llama_gateway, params):
    # The same parameters sent directly give the same tokens: each reached the
    # model as the caller wrote it (0.7, not 0.699999988).
    reply = llama_gateway.stub.Chat(request(**params), timeout=120)
    assert_same_answer(reply, direct(llama, **params))
    if params["max_tokens"] == 5:
        assert reply.finish_reason == chat_pb2.FINISH_REASON_LENGTH
        assert reply.usage.output_tokens == 5


def test_penalties_and_stop_change_the_answer(llama_gateway):
    repetitive = "Write a short poem about the sea."
    plain = llama_gateway.stub.Chat(request(repetitive, temperature=0.0, max_tokens=40),
                                    timeout=120)
    penalised = llama_gateway.stub.Chat(
        request(repetitive, temperature=0.0, max_tokens=40, frequency_penalty=2.0),
        timeout=120)
    assert penalised.content != plain.content
    # A stop sequence taken from the middle of the plain answer ends it there.
    words = plain.content.split()
    assert len(words) > 4, plain.content
    stop = words[len(words) // 2]
    stopped = llama_gateway.stub.Chat(
        request(repetitive, temperature=0.0, max_tokens=40, stop=[stop]), timeout=120)
    assert stopped.finish_reason == chat_pb2.FINISH_REASON_STOP
    assert stop not in stopped.content
    assert plain.content.startswith(stopped.content.rstrip())


def test_seed_makes_sampling_repeatable(llama_gateway):
    first = llama_gateway.stub.Chat(request(temperature=1.0, seed=1234, max_tokens=30),
                                    timeout=120)
    again = llama_gateway.stub.Chat(request(temperature=1.0, seed=1234, max_tokens=30),
                                    timeout=120)
    assert first.content == again.content


def test_json_schema_output_validates(llama_gateway):
    schema = {"type": "object",
              "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
              "required": ["city", "population"], "additionalProperties": False}
    reply = llama_gateway.stub.Chat(request(
        "Give a city and its population as JSON.", temperature=0.0, max_tokens=80,
        response_format=chat_pb2.ResponseFormat(
            type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA, schema_name="city",
            json_schema=json.dumps(schema), strict=True)), timeout=120)
    answer = json.loads(reply.content)
    assert set(answer) == {"city", "population"}
    assert isinstance(answer["city"], str)
    assert isinstance(answer["population"], int)


def test_chat_stream_delivers_deltas_as_generated(llama_gateway):
    params = dict(temperature=0.0, seed=3, max_tokens=60)
    unary = llama_gateway.stub.Chat(request(**params), timeout=120)
    started = time.monotonic()
    arrivals, text, last = [], "", None
    for chunk in llama_gateway.stub.ChatStream(request(**params), timeout=120):
        if chunk.delta:
            arrivals.append(time.monotonic())
            text += chunk.delta
        last = chunk
    ended = time.monotonic()
    assert text == unary.content
    assert last.finish_reason == unary.finish_reason
    assert last.usage.output_tokens == unary.usage.output_tokens
    # Not one burst at the end: the deltas are spread over the generation.
    assert len(arrivals) >= 10
    assert arrivals[-1] - arrivals[0] > 0.3 * (ended - started)


def test_a_prompt_over_the_context_size_is_refused_saying_so(llama_gateway):
    too_long = " ".join(["word"] * (2 * LlamaServer.SLOT_CONTEXT))
    with pytest.raises(grpc.RpcError) as error:
        llama_gateway.stub.Chat(request(too_long, max_tokens=5), timeout=120)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "context size" in error.value.details()


def test_models_the_server_reports_are_listed_and_routable(llama, llama_gateway):
    model_id = llama.model_id
    wait_for(lambda: any(m.id == model_id for m in llama_gateway.stub.ListModels(
        models_pb2.ListModelsRequest(), timeout=10).models), 90, "the reported model")
    listed = {m.id: m for m in llama_gateway.stub.ListModels(
        models_pb2.ListModelsRequest(), timeout=10).models}
    assert listed[model_id].pool == "text"
    assert listed[model_id].listing == models_pb2.MODEL_LISTING_REPORTED
    assert not listed[model_id].configured
    chat = request(max_tokens=3)
    chat.model = model_id
    reply = llama_gateway.stub.Chat(chat, timeout=120)
    assert reply.model == model_id


def flite_wav(text: str) -> bytes:
    with tempfile.NamedTemporaryFile(suffix=".wav") as out:
        subprocess.run(["flite", "-voice", "slt", "-t", text, "-o", out.name], check=True)
        return open(out.name, "rb").read()


def test_analyze_cascade_is_the_voice_assistant_with_nothing_faked(llama_gateway):
    reply = llama_gateway.stub.Analyze(transcribe_pb2.AnalyzeRequest(
        audio=audio_pb2.AudioInput(content=flite_wav("What is the capital of France?")),
        instruction="Answer the question in one sentence.",
        generation=chat_pb2.GenerationConfig(temperature=0.0, max_tokens=30)), timeout=120)
    assert reply.mode == transcribe_pb2.ANALYZE_MODE_CASCADE
    assert "capital" in reply.transcript.lower()
    assert reply.answer.strip()
    assert reply.transcription_time.ToNanoseconds() > 0
    assert reply.model_time.ToNanoseconds() > 0


def test_llama_server_killed_mid_stream_then_restarted():
    llama = LlamaServer().start()
    gateway = Gateway([], LLAMA_CONFIG.format(url=llama.base_url))
    try:
        wait_for(lambda: gateway.pool_serving("text"), 60, "pool text SERVING")
        stream = gateway.stub.ChatStream(request("Tell me a long story.", max_tokens=400,
                                                 temperature=0.0), timeout=120)
        with pytest.raises(grpc.RpcError) as error:
            for i, _ in enumerate(stream):
                if i == 3:
                    llama.kill()
        assert error.value.code() in (grpc.StatusCode.UNAVAILABLE,
                                      grpc.StatusCode.INTERNAL)
        assert "pool text" in error.value.details()

        wait_for(lambda: not gateway.pool_serving("text"), 60, "pool text NOT_SERVING")
        restarted = LlamaServer(llama.port).start()
        try:
            wait_for(lambda: gateway.pool_serving("text"), 60, "pool text SERVING again")
            assert gateway.stub.Chat(request(max_tokens=3), timeout=120).content
        finally:
            restarted.process.stop()
    finally:
        gateway.stop()
        llama.process.stop()


def test_gateway_started_before_llama_server_recovers():
    port = free_port()
    gateway = Gateway([], LLAMA_CONFIG.format(url=f"http://127.0.0.1:{port}/v1"))
    try:
        wait_for(lambda: "pool text" in urllib_text(gateway.admin + "/readyz"), 30,
                 "the pool listed by /readyz")
        with pytest.raises(grpc.RpcError) as error:
            gateway.stub.Chat(request(max_tokens=3), timeout=30)
        assert error.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "pool text" in error.value.details()
        llama = LlamaServer(port).start()
        try:
            wait_for(lambda: gateway.pool_serving("text"), 60, "pool text SERVING")
            assert gateway.stub.Chat(request(max_tokens=3), timeout=120).content
        finally:
            llama.process.stop()
    finally:
        gateway.stop()


def urllib_text(url: str) -> str:
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except Exception as error:  # the body of a 503 is as good
        return getattr(error, "read", lambda: b"")().decode()
