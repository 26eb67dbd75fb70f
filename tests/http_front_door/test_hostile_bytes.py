"""Requests that each once ended the gateway (exit 134, std::terminate, or
SIGSEGV), sent by a real client to the real binary: each gets a 400 naming
the field (or a WebSocket close naming it), and the gateway goes on serving.
The session fixture's stop fails the suite if the process died."""

from __future__ import annotations

import json
import socket

import websocket

from test_http_wire import curl, read_until_closed, still_serves
from test_websocket import PCM_CONFIG, collect, connect


def post_chat(gateway, body: bytes):
    """(status, parsed error body) of a raw POST /v1/chat/completions."""
    with socket.create_connection(("127.0.0.1", gateway.http_port), timeout=30) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\n"
                     b"Content-Type: application/json\r\nConnection: close\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        answer = read_until_closed(sock)
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload)


def test_include_usage_that_is_a_number_is_400_naming_it(gateway):
    status, body = post_chat(gateway, json.dumps({
        "model": "llama3", "stream": True, "stream_options": {"include_usage": 1},
        "messages": [{"role": "user", "content": "hi"}]}).encode())
    assert status == 400
    assert "stream_options.include_usage: must be a boolean" in body["error"]["message"]
    still_serves(gateway)


def test_a_tool_whose_strict_is_null_is_served(gateway):
    status, body = post_chat(gateway, json.dumps({
        "model": "llama3", "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {
            "name": "f", "strict": None, "parameters": {"type": "object"}}}]}).encode())
    assert status == 200, body
    still_serves(gateway)


def test_200000_nested_arrays_in_an_unknown_field_are_400(gateway):
    body = (b'{"model": "llama3", "messages": [], "extra": '
            + b"[" * 200000 + b"]" * 200000 + b"}")
    status, answer = post_chat(gateway, body)
    assert status == 400
    assert "nested deeper than 64 levels" in answer["error"]["message"]
    still_serves(gateway)


def test_a_form_field_holding_the_byte_0xff_is_400_naming_it(gateway, tmp_path):
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF")
    fmt = tmp_path / "format"
    fmt.write_bytes(b"\xff")
    reply = curl("-w", "\n%{http_code}", f"{gateway.api}/audio/transcriptions",
                 "-F", f"file=@{audio}", "-F", f"response_format=<{fmt}")
    body, _, code = reply.stdout.rpartition("\n")
    assert code == "400", reply.stdout
    assert "response_format: not UTF-8" in json.loads(body)["error"]["message"]
    still_serves(gateway)


def test_a_websocket_control_whose_type_is_a_number_closes_naming_it(gateway):
    ws = connect(gateway)
    ws.send(json.dumps(PCM_CONFIG))
    ws.send(json.dumps({"type": 1}))
    _, code, reason = collect(ws)
    assert code == 4003, reason  # INVALID_ARGUMENT
    assert "message.type: must be a string" in reason
    still_serves(gateway)


def test_a_websocket_config_nested_too_deep_closes_naming_the_limit(gateway):
    ws = connect(gateway)
    ws.send('{"recognition": ' + "[" * 20000 + "]" * 20000 + "}")
    _, code, reason = collect(ws)
    assert code == 4003, reason
    assert "config: nested deeper than 16 levels" in reason
    still_serves(gateway)


def raw_exchange(gateway, request: bytes) -> tuple:
    """(status, body) of one raw request on its own connection."""
    with socket.create_connection(("127.0.0.1", gateway.http_port), timeout=30) as sock:
        sock.sendall(request)
        answer = read_until_closed(sock)
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), payload


def test_a_keyless_gateway_refuses_a_host_dns_rebinding_would_send(gateway):
    # A page on evil.example whose name now resolves to 127.0.0.1 reads the
    # answer as same-origin: the Host is all that tells it apart.
    status, body = raw_exchange(gateway, b"GET /v1/models HTTP/1.1\r\n"
                                b"Host: evil.example:8080\r\nConnection: close\r\n\r\n")
    assert status == 403 and b"http.allowed_hosts" in body
    status, _ = raw_exchange(gateway, b"GET /v1/models HTTP/1.1\r\n"
                             b"Host: localhost\r\nConnection: close\r\n\r\n")
    assert status == 200
    ws = websocket.create_connection(f"ws://127.0.0.1:{gateway.http_port}/v1/stream/"
                                     "transcribe", host="evil.example", timeout=30)
    _, code, reason = collect(ws)
    assert code == 1008 and "not one this gateway answers" in reason, reason


def test_a_cross_site_simple_post_is_refused(gateway):
    body = json.dumps({"model": "llama3", "messages": [{"role": "user", "content": "hi"}]})
    # text/plain needs no CORS preflight: chat takes application/json only.
    status, answer = raw_exchange(gateway, (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: text/plain\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}").encode())
    assert status == 415 and b"application/json" in answer
    # A form post from another site carries its Origin.
    status, answer = raw_exchange(gateway, (
        "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Origin: https://evil.example\r\nConnection: close\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        "Content-Length: 8\r\n\r\n--b--\r\n\r\n").encode())
    assert status == 403 and b"http.cors_allowed_origins" in answer
    still_serves(gateway)
