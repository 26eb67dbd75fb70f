"""The HTTP layer by hand: curl for multipart and SSE, raw sockets for
keep-alive, pipelining and hostile clients. After each hostile client the
gateway must still serve everyone else."""

import json
import socket
import subprocess
import time

import pytest

from conftest import SENTENCE, word_errors, words

CHAT = json.dumps({"model": "llama3", "messages": [{"role": "user", "content": "a b c"}]})


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", "--max-time", "60", *args],
                          capture_output=True, text=True, check=False)


def still_serves(gateway) -> None:
    reply = curl(f"{gateway.api}/models")
    assert reply.returncode == 0 and '"pocketsphinx-en-us"' in reply.stdout


def raw_request(body: str, path: str = "/v1/chat/completions",
                extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"{extra}Content-Length: {len(body)}\r\n\r\n{body}").encode()


def read_until_closed(sock: socket.socket, deadline_s: float = 30) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(deadline_s)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def test_curl_multipart_transcription(gateway, speech_wav):
    reply = curl(f"{gateway.api}/audio/transcriptions", "-F", f"file=@{speech_wav}",
                 "-F", "response_format=json", "-D", "-")
    head, _, body = reply.stdout.partition("\n\n")
    assert head.startswith("HTTP/1.1 200")
    assert "x-request-id:" in head.lower() and "voxgate-total-ms:" in head.lower()
    assert word_errors(words(SENTENCE), words(json.loads(body)["text"])) <= 1


def test_curl_sse_stream(gateway):
    body = json.dumps({"model": "llama3", "stream": True,
                       "messages": [{"role": "user", "content": "x y"}]})
    reply = curl("-N", f"{gateway.api}/chat/completions", "-H",
                 "content-type: application/json", "-d", body, "-D", "-")
    head, _, events = reply.stdout.partition("\n\n")
    assert "content-type: text/event-stream" in head.lower()
    assert "transfer-encoding: chunked" in head.lower()
    data = [line[len("data: "):] for line in events.splitlines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    chunks = [json.loads(item) for item in data[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "echo: x y"


def test_keep_alive_and_pipelined_requests_answer_in_order(gateway):
    with socket.create_connection(("127.0.0.1", gateway.http_port)) as sock:
        ids = [f"pipelined-{i}" for i in range(3)]
        sock.sendall(b"".join(raw_request(CHAT, extra=f"x-request-id: {i}\r\n") for i in ids)
                     + b"GET /v1/models HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = read_until_closed(sock).decode()
    answers = data.split("HTTP/1.1 ")[1:]
    assert len(answers) == 4
    for request_id, answer in zip(ids, answers):
        assert answer.startswith("200") and f"x-request-id: {request_id}" in answer
    assert '"object":"list"' in answers[3]


def test_oversized_headers_get_431_and_others_are_served(gateway):
    with socket.create_connection(("127.0.0.1", gateway.http_port)) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 20000 +
                     b"\r\n\r\n")
        reply = read_until_closed(sock).decode()
    assert reply.startswith("HTTP/1.1 431")
    assert "http.max_header_bytes (8192 bytes)" in reply
    still_serves(gateway)


def test_oversized_body_gets_413_before_it_is_sent(gateway):
    with socket.create_connection(("127.0.0.1", gateway.http_port)) as sock:
        # Only the head: the answer must not wait for 64 MiB that never come.
        sock.sendall(b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: t\r\n"
                     b"Content-Type: multipart/form-data; boundary=x\r\n"
                     b"Content-Length: 67108864\r\n\r\n")
        reply = read_until_closed(sock).decode()
    assert reply.startswith("HTTP/1.1 413")
    body = json.loads(reply.partition("\r\n\r\n")[2])
    assert "server.max_receive_message_bytes" in body["error"]["message"]
    still_serves(gateway)


def test_chunked_body_over_the_limit_gets_413(gateway):
    with socket.create_connection(("127.0.0.1", gateway.http_port)) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\n"
                     b"Content-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        piece = b"a" * 1048576
        try:
            for _ in range(40):
                sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were sending
        reply = read_until_closed(sock)
    assert reply.startswith(b"HTTP/1.1 413")
    still_serves(gateway)


def test_slowloris_is_cut_off_at_the_header_timeout(gateway):
    sock = socket.create_connection(("127.0.0.1", gateway.http_port))
    try:
        sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: t\r\n")
        started = time.monotonic()
        # Drip a header byte now and then, never finishing the head.
        sock.settimeout(0.5)
        reply = b""
        while time.monotonic() - started < 30:
            try:
                sock.sendall(b"X")
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        assert time.monotonic() - started < 30, "the server never cut the client off"
        assert reply == b"" or reply.startswith(b"HTTP/1.1 408")
    finally:
        sock.close()
    still_serves(gateway)


def test_malformed_multipart_gets_400_naming_it(gateway):
    reply = curl(f"{gateway.api}/audio/transcriptions", "-H",
                 "content-type: multipart/form-data; boundary=zz", "--data-binary",
                 "--zz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc",
                 "-w", "%{http_code}")
    assert reply.stdout.endswith("400")
    assert "closing boundary" in reply.stdout
    reply = curl(f"{gateway.api}/audio/transcriptions", "-F", "model=x", "-w", "%{http_code}")
    assert reply.stdout.endswith("400") and "file:" in reply.stdout
    still_serves(gateway)


def test_undecodable_audio_gets_400_and_others_are_served(gateway, tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF" + b"\x00" * 2000)
    reply = curl(f"{gateway.api}/audio/transcriptions", "-F", f"file=@{junk}",
                 "-w", "%{http_code}")
    assert reply.stdout.endswith("400"), reply.stdout
    assert json.loads(reply.stdout[:-3])["error"]["code"] == "invalid_argument"
    still_serves(gateway)


def test_unknown_routes_and_methods(gateway):
    assert curl(f"{gateway.url}/nope", "-w", "%{http_code}").stdout.endswith("404")
    reply = curl("-X", "DELETE", f"{gateway.api}/models", "-D", "-", "-w", "%{http_code}")
    assert reply.stdout.endswith("405") and "allow: get" in reply.stdout.lower()


def test_cors_preflight_and_headers_follow_the_config(gateway, fake):
    from conftest import Gateway
    reply = curl("-X", "OPTIONS", f"{gateway.api}/chat/completions", "-D", "-",
                 "-H", "origin: https://app.example.com",
                 "-H", "access-control-request-method: POST")
    assert "access-control-allow-origin" not in reply.stdout.lower()
    open_door = Gateway(fake, "  cors_allowed_origins: [\"https://app.example.com\"]")
    try:
        reply = curl("-X", "OPTIONS", f"{open_door.api}/chat/completions", "-D", "-",
                     "-H", "origin: https://app.example.com",
                     "-H", "access-control-request-headers: authorization, content-type")
        head = reply.stdout.lower()
        assert head.startswith("http/1.1 204")
        assert "access-control-allow-origin: https://app.example.com" in head
        assert "access-control-allow-headers: authorization, content-type" in head
        reply = curl(f"{open_door.api}/models", "-D", "-", "-H",
                     "origin: https://app.example.com")
        assert "access-control-expose-headers: x-request-id" in reply.stdout.lower()
    finally:
        open_door.stop()


def test_openapi_document_is_served(gateway):
    document = json.loads(curl(f"{gateway.url}/openapi.json").stdout)
    assert document["openapi"].startswith("3.")
    assert "/v1/chat/completions" in document["paths"]


def test_expect_100_continue_is_answered_before_the_body(gateway, speech_wav):
    reply = curl("-v", f"{gateway.api}/audio/transcriptions", "-H", "Expect: 100-continue",
                 "-F", f"file=@{speech_wav}", "-F", "response_format=text")
    assert "< HTTP/1.1 100 Continue" in reply.stderr
    assert "< HTTP/1.1 200 OK" in reply.stderr
    assert word_errors(words(SENTENCE), words(reply.stdout)) <= 1


def test_head_is_not_a_bodiless_get(gateway):
    reply = curl("-I", f"{gateway.api}/models", "-w", "%{http_code}")
    assert reply.stdout.endswith("405") and "allow: get" in reply.stdout.lower()


@pytest.mark.parametrize("stream", [False, True])
def test_client_hanging_up_cancels_the_upstream_request(gateway, fake, stream):
    from conftest import wait_for
    fake.script({"hang": True})
    body = json.dumps({"model": "llama3", "stream": stream,
                       "messages": [{"role": "user", "content": "hold"}]})
    sock = socket.create_connection(("127.0.0.1", gateway.http_port))
    sock.sendall(raw_request(body))
    wait_for(lambda: fake.in_flight() == 1, 20, "the call to reach the fake")
    sock.close()
    # The gateway learns of the hang-up and cancels: the fake sees its
    # request's connection close.
    wait_for(lambda: fake.in_flight() == 0, 20, "the upstream request to be cancelled")
    method = "ChatStream" if stream else "Chat"
    wait_for(lambda: any(line["code"] == "CANCELLED" for line in gateway.log_lines(method)),
             10, "the call's CANCELLED log line")
    still_serves(gateway)
