"""The behavioural suite of the call layer: for each RPC and each door that
serves it, the same cases (a deadline that passes, a cancel mid-call, an
upstream error, a bad field, over a limit), with the expected code written
once per RPC and case. A door shows a code its own way: gRPC as the status,
the OpenAI routes as the HTTP status that matches it and the code's name in
the error body, the WebSocket as close code 4000 + the code. A cancel shows
only in the gateway's log line, which every door writes the same.

Connect shows the code's name in its error JSON (and the HTTP status of
Connect's table) or, for streams, in the end-of-stream message; gRPC-Web as
grpc-status in the trailers frame.

Doors:
- Chat: gRPC, POST /v1/chat/completions, Connect JSON, gRPC-Web
- ChatStream: gRPC, POST /v1/chat/completions with stream: true (SSE),
  Connect streaming JSON, gRPC-Web
- Transcribe: gRPC, POST /v1/audio/transcriptions, Connect JSON, gRPC-Web
- StreamTranscribe: gRPC, GET /v1/stream/transcribe (WebSocket)
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from typing import Callable, Dict, Optional

import grpc
import pytest
import urllib3
import websocket

from conftest import wait_for
from voxgate.v1 import audio_pb2, chat_pb2, service_pb2_grpc, stream_pb2, transcribe_pb2

CASES = ["deadline", "cancel", "upstream_error", "bad_field", "over_limit"]

# The expected code of each case, per RPC: written once, for every door.
EXPECTED: Dict[str, Dict[str, str]] = {
    "Chat": {"deadline": "DEADLINE_EXCEEDED", "cancel": "CANCELLED",
             "upstream_error": "UNAVAILABLE", "bad_field": "INVALID_ARGUMENT",
             "over_limit": "INVALID_ARGUMENT"},
    "ChatStream": {"deadline": "DEADLINE_EXCEEDED", "cancel": "CANCELLED",
                   "upstream_error": "UNAVAILABLE", "bad_field": "INVALID_ARGUMENT",
                   "over_limit": "INVALID_ARGUMENT"},
    "Transcribe": {"deadline": "DEADLINE_EXCEEDED", "cancel": "CANCELLED",
                   "upstream_error": "UNAVAILABLE", "bad_field": "INVALID_ARGUMENT",
                   "over_limit": "INVALID_ARGUMENT"},
    "StreamTranscribe": {"deadline": "DEADLINE_EXCEEDED", "cancel": "CANCELLED",
                         "upstream_error": "UNAVAILABLE", "bad_field": "INVALID_ARGUMENT",
                         "over_limit": "OUT_OF_RANGE"},
}

# How the HTTP door shows a code (docs/http.md).
HTTP_STATUS = {"INVALID_ARGUMENT": 400, "OUT_OF_RANGE": 400, "DEADLINE_EXCEEDED": 504,
               "UNAVAILABLE": 503, "RESOURCE_EXHAUSTED": 429}

UPSTREAM_PATH = {"Chat": "/v1/chat/completions", "ChatStream": "/v1/chat/completions",
                 "Transcribe": "/v1/audio/transcriptions",
                 "StreamTranscribe": "/v1/audio/transcriptions"}

DOORS = {"Chat": ["grpc", "http", "connect", "grpcweb"],
         "ChatStream": ["grpc", "http", "connect", "grpcweb"],
         "Transcribe": ["grpc", "http", "connect", "grpcweb"],
         "StreamTranscribe": ["grpc", "websocket"]}

# Connect's HTTP status of a code (connectrpc.com/docs/protocol).
CONNECT_STATUS = {"INVALID_ARGUMENT": 400, "OUT_OF_RANGE": 400, "DEADLINE_EXCEEDED": 504,
                  "UNAVAILABLE": 503, "RESOURCE_EXHAUSTED": 429}


class Outcome:
    """What a door showed: a code name (gRPC), an HTTP status and the error
    body's code, or a WebSocket close code. `cancel` starts the call and
    returns a function that cancels it."""

    def __init__(self, code: Optional[str] = None, http_status: Optional[int] = None,
                 close_code: Optional[int] = None) -> None:
        self.code, self.http_status, self.close_code = code, http_status, close_code


# --- what each case sends, door by door ---------------------------------------------

def chat_request(case: str, long_wav: bytes, short_wav: bytes) -> chat_pb2.ChatRequest:
    request = chat_pb2.ChatRequest(model="llama3")
    message = request.messages.add(role=chat_pb2.ROLE_USER)
    message.content.add(text="hello")
    if case == "bad_field":
        request.messages.add()  # no role
    if case == "over_limit":
        request.model = "voxtral"
        message.content.add(audio=audio_pb2.AudioInput(content=long_wav))
    return request


def chat_json(case: str, long_wav: bytes, stream: bool) -> dict:
    import base64
    body = {"model": "llama3", "stream": stream,
            "messages": [{"role": "user", "content": "hello"}]}
    if case == "bad_field":
        body["messages"].append({"role": "robot", "content": "x"})
    if case == "over_limit":
        body["model"] = "voxtral"
        body["messages"][0]["content"] = [
            {"type": "text", "text": "hello"},
            {"type": "input_audio", "input_audio": {
                "data": base64.b64encode(long_wav).decode(), "format": "wav"}}]
    return body


def transcribe_request(case: str, long_wav: bytes, short_wav: bytes):
    audio = {"bad_field": b"", "over_limit": long_wav}.get(case, short_wav)
    return transcribe_pb2.TranscribeRequest(
        audio=audio_pb2.AudioInput(content=audio),
        config=audio_pb2.RecognitionConfig(model="whisper-1"))


def stream_config(case: str) -> dict:
    if case == "bad_field":  # raw PCM needs its rate
        return {"format": {"encoding": "AUDIO_ENCODING_LINEAR16", "channelCount": 1}}
    return {"format": {"encoding": "AUDIO_ENCODING_WAV"},
            "recognition": {"model": "whisper-1"}}


# --- the doors ----------------------------------------------------------------------

def grpc_code(error: grpc.RpcError) -> str:
    return error.code().name


def run_grpc(stub, rpc: str, case: str, long_wav: bytes, short_wav: bytes,
             started: Callable[[], None]) -> Outcome:
    """Runs the call; for "cancel", cancels it once `started` returns."""
    if rpc == "Chat":
        call = stub.Chat.future(chat_request(case, long_wav, short_wav))
    elif rpc == "ChatStream":
        call = stub.ChatStream(chat_request(case, long_wav, short_wav))
    elif rpc == "Transcribe":
        call = stub.Transcribe.future(transcribe_request(case, long_wav, short_wav))
    else:
        audio = long_wav if case == "over_limit" else short_wav
        config = stream_pb2.StreamTranscribeConfig()
        from google.protobuf import json_format
        json_format.ParseDict(stream_config(case), config)
        closed = threading.Event()

        def requests_():
            yield stream_pb2.StreamTranscribeRequest(config=config)
            for start in range(0, len(audio), 16000):
                yield stream_pb2.StreamTranscribeRequest(audio=audio[start:start + 16000])
            if case == "cancel":
                # The utterance goes upstream now; the stream stays open
                # until cancelled.
                yield stream_pb2.StreamTranscribeRequest(
                    control=stream_pb2.STREAM_CONTROL_FINALIZE_UTTERANCE)
                closed.wait(30)

        call = stub.StreamTranscribe(requests_())
    if case == "cancel":
        started()
        call.cancel()
        return Outcome()
    try:
        if rpc in ("ChatStream", "StreamTranscribe"):
            for _ in call:
                pass
        else:
            call.result()
    except grpc.RpcError as error:
        return Outcome(code=grpc_code(error))
    return Outcome(code="OK")


def run_http(gateway, rpc: str, case: str, long_wav: bytes, short_wav: bytes,
             started: Callable[[], None]) -> Outcome:
    if rpc == "Transcribe":
        path = "/v1/audio/transcriptions"
        audio = {"bad_field": None, "over_limit": long_wav}.get(case, short_wav)
        fields = {"model": "whisper-1"}
        if audio is not None:
            fields["file"] = ("a.wav", audio, "audio/wav")
        body, content_type = urllib3.encode_multipart_formdata(fields)
    else:
        path = "/v1/chat/completions"
        body = json.dumps(chat_json(case, long_wav, stream=rpc == "ChatStream")).encode()
        content_type = "application/json"
    headers = {"content-type": content_type}
    if case == "cancel":
        return hang_up_after(gateway, path, content_type, body, started)
    reply = urllib3.PoolManager().request("POST", gateway.url + path, body=body,
                                          headers=headers, timeout=60, retries=False)
    text = reply.data.decode()
    if reply.status == 200:
        if rpc == "ChatStream":
            events = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
            if events and events[-1] != "[DONE]":
                error = json.loads(events[-1])["error"]
                return Outcome(code=error["code"], http_status=200)
        return Outcome(code="OK", http_status=200)
    return Outcome(code=json.loads(text)["error"]["code"], http_status=reply.status)


def run_websocket(gateway, case: str, long_wav: bytes, short_wav: bytes,
                  started: Callable[[], None]) -> Outcome:
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{gateway.http_port}/v1/stream/transcribe", timeout=60)
    ws.send(json.dumps(stream_config(case)))
    audio = long_wav if case == "over_limit" else short_wav
    try:
        for start in range(0, len(audio), 16000):
            ws.send_binary(audio[start:start + 16000])
        # A cancel comes while the utterance is upstream.
        ws.send(json.dumps({"type": "finalize" if case == "cancel" else "end"}))
    except (BrokenPipeError, ConnectionResetError, websocket.WebSocketException):
        pass  # the server may close early (a bad config); its close says why
    if case == "cancel":
        started()
        ws.sock.close()  # gone without a close frame
        return Outcome()
    ws.send_close = lambda *args, **kwargs: None
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
            return Outcome(close_code=code)


def envelope(flags: int, data: bytes) -> bytes:
    return struct.pack(">BI", flags, len(data)) + data


def envelopes(body: bytes):
    """The (flags, data) of each enveloped message of a body."""
    while len(body) >= 5:
        flags, size = struct.unpack(">BI", body[:5])
        yield flags, body[5:5 + size]
        body = body[5 + size:]


def rpc_message(rpc: str, case: str, long_wav: bytes, short_wav: bytes):
    if rpc == "Transcribe":
        return transcribe_request(case, long_wav, short_wav)
    return chat_request(case, long_wav, short_wav)


def hang_up_after(gateway, path: str, content_type: str, body: bytes,
                  started: Callable[[], None]) -> Outcome:
    """A client that hangs up: the request out, then close without reading."""
    with socket.create_connection(("127.0.0.1", gateway.http_port)) as sock:
        head = (f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: {content_type}\r\n"
                f"content-length: {len(body)}\r\n\r\n")
        sock.sendall(head.encode() + body)
        started()
    return Outcome()


def run_connect(gateway, rpc: str, case: str, long_wav: bytes, short_wav: bytes,
                started: Callable[[], None]) -> Outcome:
    from google.protobuf import json_format
    message = json_format.MessageToJson(rpc_message(rpc, case, long_wav, short_wav)).encode()
    path = f"/voxgate.v1.VoxgateService/{rpc}"
    streaming = rpc == "ChatStream"
    content_type = "application/connect+json" if streaming else "application/json"
    body = envelope(0, message) if streaming else message
    if case == "cancel":
        return hang_up_after(gateway, path, content_type, body, started)
    reply = urllib3.PoolManager().request(
        "POST", gateway.url + path, body=body, timeout=60, retries=False,
        headers={"content-type": content_type, "connect-protocol-version": "1"})
    if streaming:
        assert reply.status == 200  # a stream's status is in its end message
        end = [json.loads(data) for flags, data in envelopes(reply.data) if flags & 2]
        assert len(end) == 1
        error = end[0].get("error")
        return Outcome(code=error["code"] if error else "OK", http_status=200)
    if reply.status == 200:
        return Outcome(code="OK", http_status=200)
    return Outcome(code=json.loads(reply.data)["code"], http_status=reply.status)


def run_grpcweb(gateway, rpc: str, case: str, long_wav: bytes, short_wav: bytes,
                started: Callable[[], None]) -> Outcome:
    message = rpc_message(rpc, case, long_wav, short_wav).SerializeToString()
    path = f"/voxgate.v1.VoxgateService/{rpc}"
    content_type = "application/grpc-web+proto"
    body = envelope(0, message)
    if case == "cancel":
        return hang_up_after(gateway, path, content_type, body, started)
    reply = urllib3.PoolManager().request(
        "POST", gateway.url + path, body=body, timeout=60, retries=False,
        headers={"content-type": content_type, "x-grpc-web": "1"})
    assert reply.status == 200  # gRPC-Web's status is in its trailers
    trailers = [data.decode() for flags, data in envelopes(reply.data) if flags & 0x80]
    assert len(trailers) == 1
    fields = dict(line.split(":", 1) for line in trailers[0].split("\r\n") if line)
    return Outcome(code=grpc.StatusCode(
        next(c for c in grpc.StatusCode if c.value[0] == int(fields["grpc-status"]))).name)


# --- the suite ----------------------------------------------------------------------

def script_upstream(fake, rpc: str, case: str) -> None:
    if case in ("deadline", "cancel"):
        fake.script({"latency_ms": 20000}, times=1000, path=UPSTREAM_PATH[rpc])
    elif case == "upstream_error":
        fake.script({"status": 503}, times=1000, path=UPSTREAM_PATH[rpc])


@pytest.fixture
def stub(gateway):
    channel = grpc.insecure_channel(f"127.0.0.1:{gateway.grpc_port}")
    yield service_pb2_grpc.VoxgateServiceStub(channel)
    channel.close()


PARAMS = [(rpc, door, case) for rpc, doors in DOORS.items() for door in doors
          for case in CASES]


@pytest.mark.parametrize("rpc,door,case", PARAMS,
                         ids=[f"{r}-{d}-{c}" for r, d, c in PARAMS])
def test_every_door_ends_the_same(gateway, fake, stub, long_wav, short_wav, rpc, door,
                                  case):
    expected = EXPECTED[rpc][case]
    script_upstream(fake, rpc, case)
    method = rpc
    before = len(gateway.codes(method))

    def started() -> None:
        wait_for(lambda: fake.in_flight() >= 1, 20, "the upstream request to start")

    if door == "grpc":
        outcome = run_grpc(stub, rpc, case, long_wav, short_wav, started)
    elif door == "http":
        outcome = run_http(gateway, rpc, case, long_wav, short_wav, started)
    elif door == "connect":
        outcome = run_connect(gateway, rpc, case, long_wav, short_wav, started)
    elif door == "grpcweb":
        outcome = run_grpcweb(gateway, rpc, case, long_wav, short_wav, started)
    else:
        outcome = run_websocket(gateway, case, long_wav, short_wav, started)

    # Every door writes the one log line with the code.
    wait_for(lambda: len(gateway.codes(method)) > before, 20, f"{method}'s log line")
    assert gateway.codes(method)[-1] == expected
    if door in ("grpc", "grpcweb") and case != "cancel":
        assert outcome.code == expected
    if door == "connect" and case != "cancel":
        # Connect spells the code in lower case, and CANCELLED as "canceled".
        assert outcome.code.upper() == expected
        if outcome.http_status != 200:
            assert outcome.http_status == CONNECT_STATUS[expected]
    if door == "http" and case != "cancel":
        # OpenAI's error shape spells the code's name in lower case.
        assert outcome.code.upper() == expected
        if outcome.http_status != 200:  # an SSE error after the head
            assert outcome.http_status == HTTP_STATUS[expected]
    if door == "websocket" and case != "cancel":
        import grpc as codes
        number = getattr(codes.StatusCode, expected).value[0]
        assert outcome.close_code == 4000 + number
