"""Each authentication and permission outcome, over gRPC and HTTP, with the
code and a message that names what is wrong (and never the key)."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import voxgate
from voxgate.v1 import (audio_pb2, chat_pb2, models_pb2, service_pb2_grpc, stream_pb2)

from conftest import TENANTS, Gateway, Keys, wait_for


def stub(gateway) -> service_pb2_grpc.VoxgateServiceStub:
    return service_pb2_grpc.VoxgateServiceStub(grpc.insecure_channel(gateway.address))


def bearer(key: str):
    return (("authorization", f"Bearer {key}"),)


def chat_request(model: str = "llama3") -> chat_pb2.ChatRequest:
    return chat_pb2.ChatRequest(model=model, messages=[chat_pb2.ChatMessage(
        role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text="hi")])])


def code_of(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as error:
        call()
    return error.value


def test_missing_and_unknown_keys_are_unauthenticated(gateway, keys):
    models = stub(gateway).ListModels
    missing = code_of(lambda: models(models_pb2.ListModelsRequest(), timeout=10))
    assert missing.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "authorization: Bearer" in missing.details()
    forged = keys.key("search")[:-4] + "0000"
    unknown = code_of(lambda: models(models_pb2.ListModelsRequest(), timeout=10,
                                     metadata=bearer(forged)))
    assert unknown.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "not valid" in unknown.details() and forged[4:16] not in unknown.details()


def test_a_key_in_either_header_is_served_as_its_tenant(gateway, keys):
    models = stub(gateway).ListModels
    assert models(models_pb2.ListModelsRequest(), timeout=10,
                  metadata=bearer(keys.key("search"))).models
    assert models(models_pb2.ListModelsRequest(), timeout=10,
                  metadata=(("x-api-key", keys.key("search")),)).models
    wait_for(lambda: any(line.get("tenant") == "search" and line["method"] == "ListModels"
                         for line in gateway.call_lines()), 10, "a log line naming the tenant")


def test_methods_and_models_outside_the_tenants_lists_are_denied(gateway, keys):
    service = stub(gateway)
    denied = code_of(lambda: service.Analyze(_analyze_request(), timeout=10,
                                             metadata=bearer(keys.key("search"))))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "may not call Analyze" in denied.details()
    model = code_of(lambda: service.Chat(chat_request("gpt-4o"), timeout=10,
                                         metadata=bearer(keys.key("search"))))
    assert model.code() == grpc.StatusCode.PERMISSION_DENIED
    assert 'model "gpt-4o"' in model.details()
    reply = service.Chat(chat_request("llama3"), timeout=30, metadata=bearer(keys.key("search")))
    assert reply.content


def _analyze_request():
    from voxgate.v1 import transcribe_pb2
    return transcribe_pb2.AnalyzeRequest(
        audio=audio_pb2.AudioInput(content=b"RIFF"), instruction="summarise")


def test_analyze_naming_a_transcription_model_it_may_not_use_is_denied(gateway, keys):
    # Admission sees request.model; a CASCADE's recognition.model reached any
    # audio model until the call checked it too.
    request = _analyze_request()
    request.model = "llama3"
    request.recognition.model = "whisper-large"
    error = code_of(lambda: stub(gateway).Analyze(request, timeout=30,
                                                  metadata=bearer(keys.key("analyst"))))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert 'model "whisper-large"' in error.details()


def test_an_unauthenticated_body_is_refused_from_the_head_and_never_read(gateway):
    import socket
    from process_harness import peak_rss_bytes
    body_size = 31 << 20
    before = None
    for attempt in range(4):
        # The first refusal warms what any first request touches; the three
        # after it are measured.
        if attempt == 1:
            before = peak_rss_bytes(gateway.process.process.pid)
        with socket.create_connection(("127.0.0.1", gateway.http_port), timeout=30) as conn:
            conn.sendall((f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                          f"content-type: application/json\r\n"
                          f"content-length: {body_size}\r\n\r\n").encode())
            # No body byte is sent: the answer comes from the head alone.
            head = conn.recv(65536).decode(errors="replace")
            assert head.startswith("HTTP/1.1 401"), head
            assert "authorization: Bearer" in head
            # The rest is drained, not kept: sending it all still works.
            chunk = b"[{}," * (1 << 16)
            try:
                for _ in range(body_size // len(chunk)):
                    conn.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
    assert peak_rss_bytes(gateway.process.process.pid) - before < (1 << 20)


def test_grpc_identifies_the_caller_before_parsing_its_message(gateway, keys):
    # Bytes that are no ChatRequest: parsed first, they were INVALID_ARGUMENT;
    # now an unknown caller is refused before they are read.
    channel = grpc.insecure_channel(gateway.address)
    raw_chat = channel.unary_unary("/voxgate.v1.VoxgateService/Chat",
                                   request_serializer=None, response_deserializer=None)
    garbage = b"\x12\x05\x12" * 1000
    error = code_of(lambda: raw_chat(garbage, timeout=10))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED, error.details()
    error = code_of(lambda: raw_chat(garbage, timeout=10, metadata=bearer(keys.key("search"))))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid voxgate.v1.ChatRequest" in error.details()


def test_a_stream_naming_a_model_it_may_not_use_is_denied(gateway, keys):
    def requests():
        yield stream_pb2.StreamTranscribeRequest(config=stream_pb2.StreamTranscribeConfig(
            format=audio_pb2.AudioFormat(encoding=audio_pb2.AUDIO_ENCODING_LINEAR16,
                                         sample_rate_hertz=16000, channel_count=1),
            recognition=audio_pb2.RecognitionConfig(model="whisper-large")))
    calls = stub(gateway).StreamTranscribe(requests(), timeout=30,
                                           metadata=bearer(keys.key("search")))
    error = code_of(lambda: list(calls))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert 'model "whisper-large"' in error.details()


def test_a_revoked_keys_open_streams_end_and_the_others_go_on(work, fake):
    keys = Keys(work / "revocation.yaml", TENANTS,
                {"kept": "search", "revoked": "search", "ops": "ops"})
    gateway = Gateway(f"auth: {{keys_file: {keys.path}, reload_interval: 1s}}\n", fake.port)
    stop = {"kept": threading.Event(), "revoked": threading.Event()}

    def requests(name):
        yield stream_pb2.StreamTranscribeRequest(config=stream_pb2.StreamTranscribeConfig(
            format=audio_pb2.AudioFormat(encoding=audio_pb2.AUDIO_ENCODING_LINEAR16,
                                         sample_rate_hertz=16000, channel_count=1)))
        # Silence, a tenth of a second at a time, until told to stop.
        while not stop[name].wait(0.1):
            yield stream_pb2.StreamTranscribeRequest(audio=b"\0" * 3200)

    try:
        calls = {name: stub(gateway).StreamTranscribe(requests(name), timeout=120,
                                                      metadata=bearer(keys.key(name)))
                 for name in stop}
        outcome = {}

        def drain(name):
            try:
                list(calls[name])
                outcome[name] = grpc.StatusCode.OK
            except grpc.RpcError as error:
                outcome[name] = (error.code(), error.details())

        readers = {name: threading.Thread(target=drain, args=(name,)) for name in stop}
        for reader in readers.values():
            reader.start()
        # Both streams are admitted and open before the key goes.
        def streams_active() -> float:
            with urllib.request.urlopen(urllib.request.Request(
                    f"http://127.0.0.1:{gateway.admin_port}/metrics",
                    headers={"x-api-key": keys.key("ops")}), timeout=10) as reply:
                text = reply.read().decode()
            return float(re.search(r"^voxgate_streams_active (\S+)$", text, re.M).group(1))

        wait_for(lambda: streams_active() == 2, 30, "both streams open")
        keys.path.write_text("\n".join(line for line in keys.path.read_text().splitlines()
                                        if keys.minted["revoked"]["id"] not in line) + "\n")
        readers["revoked"].join(30)
        assert not readers["revoked"].is_alive(), "the revoked key's stream is still open"
        code, details = outcome["revoked"]
        assert code == grpc.StatusCode.UNAUTHENTICATED, details
        assert "no longer in the keys file" in details
        # The other key's stream was never touched: it ends when its client does.
        assert "kept" not in outcome
        stop["kept"].set()
        readers["kept"].join(30)
        assert outcome["kept"] == grpc.StatusCode.OK
    finally:
        for event in stop.values():
            event.set()
        gateway.stop()


def test_http_answers_401_and_403_in_openai_shape(gateway, keys):
    def post(key=None, model="llama3"):
        headers = {"content-type": "application/json"}
        if key:
            headers["authorization"] = f"Bearer {key}"
        body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]})
        request = urllib.request.Request(
            f"http://127.0.0.1:{gateway.http_port}/v1/chat/completions",
            data=body.encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, json.load(reply)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    status, body = post()
    assert status == 401 and body["error"]["code"] == "unauthenticated"
    status, body = post(keys.key("search"), "gpt-4o")
    assert status == 403 and "gpt-4o" in body["error"]["message"]
    status, body = post(keys.key("search"))
    assert status == 200 and body["choices"][0]["message"]["content"]


def test_health_stays_open_reflection_is_off_and_metrics_need_a_key(gateway, keys):
    channel = grpc.insecure_channel(gateway.address)
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(),
                                                       timeout=10)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    reflection = channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=lambda raw: raw, response_deserializer=lambda raw: raw)
    error = code_of(lambda: list(reflection(iter([b"\x3a\x00"]), timeout=10)))
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED
    url = f"http://127.0.0.1:{gateway.admin_port}/metrics"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code == 401
    with pytest.raises(urllib.error.HTTPError) as forbidden:  # search may not read metrics
        urllib.request.urlopen(urllib.request.Request(
            url, headers={"x-api-key": keys.key("search")}), timeout=10)
    assert forbidden.value.code == 403
    with urllib.request.urlopen(urllib.request.Request(
            url, headers={"authorization": f"Bearer {keys.key('ops')}"}), timeout=10) as reply:
        text = reply.read().decode()
    assert 'voxgate_tenant_info{cost_center="42",team="search",tenant="search"} 1' in text
    assert 'voxgate_tenant_rejections_total{reason="unauthenticated",tenant=""}' in text
    assert 'voxgate_tenant_calls_total{code="OK",method="ListModels",tenant="search"}' in text


def test_rate_limit_refusal_carries_retry_info(gateway, keys, work):
    models = stub(gateway).ListModels
    for _ in range(3):
        models(models_pb2.ListModelsRequest(), timeout=10, metadata=bearer(keys.key("limited")))
    error = code_of(lambda: models(models_pb2.ListModelsRequest(), timeout=10,
                                   metadata=bearer(keys.key("limited"))))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "requests_per_minute.general (3" in error.details()
    trailers = dict(error.trailing_metadata())
    assert 1 <= int(trailers["retry-after"]) <= 60
    status = _google_rpc_status(work).FromString(trailers["grpc-status-details-bin"])
    info = _retry_info(work)()
    assert status.details[0].Unpack(info)
    assert 0 < info.retry_delay.seconds <= 60
    # The Python client exposes it, and does not wait a minute for it.
    with voxgate.Client(gateway.address, api_key=keys.key("limited"), timeout_s=5) as client:
        with pytest.raises(voxgate.errors.OverloadedError) as overloaded:
            client.list_models()
    assert 0 < overloaded.value.retry_after_s <= 60


def test_the_python_client_waits_the_retry_after_and_succeeds(gateway, keys, fake):
    """`single` may hold one call: a hanging chat holds it; the client's second
    call is refused with retry-after 1 and goes through once the first ends."""
    import urllib.request as http
    http.urlopen(http.Request(f"http://127.0.0.1:{fake.port}/_fake/script",
                              data=json.dumps({"path": "/v1/chat/completions",
                                               "behavior": {"hang": True},
                                               "times": 1}).encode(),
                              headers={"content-type": "application/json"}),
                 timeout=10).read()
    channel = grpc.insecure_channel(gateway.address)
    holder = service_pb2_grpc.VoxgateServiceStub(channel).Chat.future(
        chat_request(), timeout=60, metadata=bearer(keys.key("single")))
    wait_for(lambda: _in_flight(fake) == 1, 30, "the hanging chat to reach the fake")
    done = {}

    def second() -> None:
        started = time.monotonic()
        with voxgate.Client(gateway.address, api_key=keys.key("single"), timeout_s=60,
                            retry=voxgate.RetryPolicy(attempts=8)) as client:
            done["reply"] = client.chat_completion([{"role": "user", "content": "hi"}])
        done["took"] = time.monotonic() - started

    thread = threading.Thread(target=second)
    thread.start()
    wait_for(lambda: any(line.get("tenant") == "single" and "max_concurrent_calls"
                         in line.get("error", "") for line in gateway.call_lines()),
             30, "the second call's refusal")
    holder.cancel()
    thread.join(60)
    assert done["reply"]["choices"][0]["message"]["content"]
    assert done["took"] >= 1.0  # it waited the retry-after, not a fast backoff


def _in_flight(fake) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{fake.port}/_fake/stats",
                                timeout=10) as reply:
        return json.load(reply)["in_flight"]


def test_tokens_per_day_are_charged_from_upstream_usage(gateway, keys):
    service = stub(gateway)
    # The fake reports usage; the first call takes `budget` past 10 tokens.
    service.Chat(chat_request(), timeout=30, metadata=bearer(keys.key("budget")))
    error = code_of(lambda: service.Chat(chat_request(), timeout=30,
                                         metadata=bearer(keys.key("budget"))))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "tokens_per_day (10" in error.details()
    def served():
        return [line for line in gateway.call_lines()
                if line.get("tenant") == "budget" and line["code"] == "OK"]
    wait_for(lambda: served(), 10, "the served call's log line")
    assert served()[0]["prompt_tokens"] + served()[0]["completion_tokens"] >= 10


def test_a_stream_cancelled_early_is_charged_what_it_used(gateway, keys, fake):
    # Usage comes with a stream's last chunk; a caller who hangs up before it
    # used to be charged nothing.
    import urllib.request as http
    http.urlopen(http.Request(f"http://127.0.0.1:{fake.port}/_fake/script",
                              data=json.dumps({"path": "/v1/chat/completions",
                                               "behavior": {"chunk_interval_ms": 2000,
                                                            "text": "a b c d e f g h"},
                                               "times": 1}).encode(),
                              headers={"content-type": "application/json"}),
                 timeout=10).read()
    service = stub(gateway)
    long_prompt = chat_request()
    long_prompt.messages[0].content[0].text = "word " * 40  # about 50 tokens
    stream = service.ChatStream(long_prompt, timeout=60,
                                metadata=bearer(keys.key("streamer")))
    next(stream)  # the first piece arrived: the upstream is generating
    stream.cancel()

    def cancelled():
        return [line for line in gateway.call_lines()
                if line.get("tenant") == "streamer" and line["code"] == "CANCELLED"]
    wait_for(lambda: cancelled(), 30, "the cancelled stream's log line")
    line = cancelled()[0]
    assert line["prompt_tokens"] >= 40 and line["completion_tokens"] >= 1, line
    error = code_of(lambda: list(service.ChatStream(
        chat_request(), timeout=30, metadata=bearer(keys.key("streamer")))))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "tokens_per_day (40" in error.details()


def tone_wav(seconds: float) -> bytes:
    import io
    import math
    import struct
    import wave
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(16000)
        file.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 5)))
                                  for i in range(int(16000 * seconds))))
    return out.getvalue()


def finished(client, name: str):
    """The operation once done: WaitOperation answers at its own limit with
    the operation as it stands, so ask again until it is (on a busy machine a
    batch may take longer than one long poll)."""
    deadline = time.monotonic() + 600
    while True:
        operation = client.wait_operation(name, 30)
        if operation.done or time.monotonic() > deadline:
            assert operation.done, f"{name} not done after 10 minutes"
            return operation


def test_a_batchs_audio_counts_against_its_tenants_quota_and_others_cannot_see_it(
        gateway, keys):
    with voxgate.Client(gateway.address, api_key=keys.key("batcher"), timeout_s=60) as client:
        operation = client.start_batch([tone_wav(4), tone_wav(4)])
        done = finished(client, operation.name)
        assert [r["error"] for r in voxgate._batch.results_of(done)] == [None, None]
        # 8 s of batch audio is past the tenant's 5 s an hour: refused now,
        # batches included.
        for refused_call in (lambda: client.transcribe_audio(tone_wav(1)),
                             lambda: client.start_batch([tone_wav(1)])):
            with pytest.raises(voxgate.OverloadedError) as refused:
                refused_call()
            assert "audio_seconds_per_hour" in refused.value.message
    # Another tenant cannot see (or cancel) it: NOT_FOUND, as if it did not exist.
    with voxgate.Client(gateway.address, api_key=keys.key("shared"), timeout_s=60) as other:
        with pytest.raises(voxgate.VoxgateError) as hidden:
            other.get_operation(operation.name)
        assert hidden.value.code == grpc.StatusCode.NOT_FOUND
        with pytest.raises(voxgate.VoxgateError) as hidden:
            other.cancel_operation(operation.name)
        assert hidden.value.code == grpc.StatusCode.NOT_FOUND


def test_a_batch_asks_its_tenants_quota_before_each_file(keys, fake):
    # One file at a time: 4 s, then 4 s more (4 < 5 when it starts), then the
    # third file finds the hour's 5 s spent and is refused on its own; the
    # batch submitted under the quota does not run on past it.
    gateway = Gateway(f"auth: {{keys_file: {keys.path}}}\nbatch: {{max_files_in_flight: 1}}\n",
                      fake.port)
    try:
        with voxgate.Client(gateway.address, api_key=keys.key("nightly"),
                            timeout_s=60) as client:
            operation = client.start_batch([tone_wav(4), tone_wav(4), tone_wav(4)])
            results = voxgate._batch.results_of(finished(client, operation.name))
            assert [r["error"] for r in results[:2]] == [None, None]
            assert results[2]["error"] is not None
            assert "audio_seconds_per_hour" in str(results[2]["error"])
    finally:
        gateway.stop()


def test_fetch_allowed_hosts_are_per_tenant(keys, fake):
    import http.server

    class Audio(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            body = tone_wav(1)
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Audio)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    gateway = Gateway(f"auth: {{keys_file: {keys.path}}}\naudio: {{fetch: {{allow_http: true}}}}\n",
                      fake.port)
    uri = f"http://127.0.0.1:{server.server_address[1]}/clip.wav"
    try:
        # The archivist's keys file entry lists the host: fetched.
        with voxgate.Client(gateway.address, api_key=keys.key("archivist"),
                            timeout_s=60) as client:
            assert client.transcribe_url(uri)["duration"] == pytest.approx(1, abs=0.1)
        # Another tenant (no such entry, nothing gateway-wide) is refused.
        with voxgate.Client(gateway.address, api_key=keys.key("search"),
                            timeout_s=60) as client:
            with pytest.raises(voxgate.InvalidRequestError) as refused:
                client.transcribe_url(uri)
            assert "loopback" in str(refused.value)
            assert "fetch_allowed_hosts" in str(refused.value)
    finally:
        gateway.stop()
        server.shutdown()


def test_chat_audio_counts_against_the_tenants_audio_quota(keys, fake):
    # An audio chat pool beside the text one.
    voice = (f'\n  - name: voice\n    protocol: openai_chat_audio\n'
             f'    endpoints: [{{url: "http://127.0.0.1:{fake.port}/v1"}}]\n'
             f'    models: [voxtral]\n    health_check: {{path: ""}}')
    gateway = Gateway(f"auth: {{keys_file: {keys.path}}}\n", fake.port, pool_extra=voice)
    try:
        with grpc.insecure_channel(gateway.address) as channel:
            service = service_pb2_grpc.VoxgateServiceStub(channel)
            key = bearer(keys.key("listener"))

            def with_audio(seconds: float, opus: bool = False) -> chat_pb2.ChatRequest:
                content, encoding = tone_wav(seconds), audio_pb2.AUDIO_ENCODING_WAV
                if opus:  # transcoded to WAV by the gateway, counted as it is
                    content = subprocess.run(
                        ["ffmpeg", "-v", "error", "-f", "wav", "-i", "-", "-c:a", "libopus",
                         "-f", "ogg", "-"], input=content, capture_output=True,
                        check=True).stdout
                    encoding = audio_pb2.AUDIO_ENCODING_AUTO
                return chat_pb2.ChatRequest(model="voxtral", messages=[chat_pb2.ChatMessage(
                    role=chat_pb2.ROLE_USER, content=[
                        chat_pb2.ContentPart(text="what is this?"),
                        chat_pb2.ContentPart(audio=audio_pb2.AudioInput(
                            content=content, format=audio_pb2.AudioFormat(
                                encoding=encoding)))])])

            # 3 s of Opus through Chat (transcoded) and 3 s of WAV through
            # ChatStream (passed through): 6 s of audio, past the tenant's 5 s
            # an hour, so the next call with audio is refused.
            service.Chat(with_audio(3, opus=True), timeout=30, metadata=key)
            list(service.ChatStream(with_audio(3), timeout=30, metadata=key))
            error = code_of(lambda: service.Chat(with_audio(1), timeout=30, metadata=key))
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
            assert "audio_seconds_per_hour" in error.details()
            # A part that does not decode is refused before it goes upstream,
            # naming it, and costs nothing.
            broken = with_audio(1)
            broken.messages[0].content[1].audio.content = b"RIFF" + b"\x00" * 64
            error = code_of(lambda: list(service.ChatStream(broken, timeout=30,
                                                            metadata=bearer(keys.key("shared")))))
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
            assert "audio part 1" in error.details()
    finally:
        gateway.stop()


_PROTOS = {}


def _compiled(work):
    """google.rpc protos (the gateway's copy) compiled for this test."""
    if not _PROTOS:
        import importlib
        import sys
        from grpc_tools import protoc
        from conftest import REPO
        out = work / "google_rpc_py"
        out.mkdir(exist_ok=True)
        import grpc_tools
        include = str(__import__("pathlib").Path(grpc_tools.__file__).parent / "_proto")
        assert protoc.main(["protoc", f"-I{REPO / 'proto'}", f"-I{include}",
                            f"--python_out={out}", "google/rpc/status.proto",
                            "google/rpc/error_details.proto"]) == 0
        sys.path.insert(0, str(out))
        import google.rpc  # noqa: F401  may be a namespace package elsewhere
        _PROTOS["status"] = importlib.import_module("google.rpc.status_pb2")
        _PROTOS["details"] = importlib.import_module("google.rpc.error_details_pb2")
    return _PROTOS


def _google_rpc_status(work):
    return _compiled(work)["status"].Status


def _retry_info(work):
    return _compiled(work)["details"].RetryInfo
