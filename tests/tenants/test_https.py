"""TLS on the HTTP listeners: the OpenAI-compatible front door (HTTPS and WSS,
with the openai SDK, a WebSocket client and raw sockets) and the admin port
(tls.admin), client certificates as tenants over HTTPS, refusals, and a
rotated certificate served to new connections while an open one keeps going."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import ssl
import subprocess
import urllib.request

import httpx2 as httpx  # what the openai SDK installed here uses
import openai
import pytest
import websocket

from conftest import (VOXGATE_BIN, Gateway, assert_tls11_refused, rotatable_serving_files,
                      wait_for)


@pytest.fixture(scope="module")
def https_gateway(certs, keys, fake, work):
    """TLS everywhere: gRPC, the HTTP front door, the admin port; client
    certificates verified when sent, not required."""
    cert, key = rotatable_serving_files(certs, work, "https-serving")
    server = Gateway(f"""tls:
  cert_file: {cert}
  key_file: {key}
  client_ca_file: {certs.ca}
  require_client_cert: false
  reload_interval: 1s
  admin: true
auth: {{keys_file: {keys.path}}}
""", fake.port)
    server.cert, server.key = cert, key
    yield server
    server.stop()


def trusting(certs, client_cert: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certs.ca))
    if client_cert:
        context.load_cert_chain(str(certs.client), str(certs.client_key))
    return context


def served_certificate(port: int, certs) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with trusting(certs).wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.getpeercert(binary_form=True)


def test_openai_sdk_over_https(https_gateway, keys, certs):
    with httpx.Client(verify=trusting(certs)) as transport:
        client = openai.OpenAI(base_url=f"https://localhost:{https_gateway.http_port}/v1",
                               api_key=keys.key("search"), http_client=transport,
                               max_retries=0)
        reply = client.chat.completions.create(
            model="llama3", messages=[{"role": "user", "content": "hello"}])
        assert reply.choices[0].message.content
        pieces = [chunk.choices[0].delta.content or ""
                  for chunk in client.chat.completions.create(
                      model="llama3", messages=[{"role": "user", "content": "hello"}],
                      stream=True)
                  if chunk.choices]
        assert "".join(pieces)


def test_alpn_picks_http11_and_old_tls_is_refused(https_gateway, certs):
    context = trusting(certs)
    context.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", https_gateway.http_port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.selected_alpn_protocol() == "http/1.1"
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
    assert_tls11_refused(https_gateway.http_port)
    assert_tls11_refused(https_gateway.admin_port)


def test_another_ca_and_plaintext_are_refused_and_others_still_served(https_gateway, certs):
    with httpx.Client(verify=ssl.create_default_context(cafile=str(certs.other_ca))) as stranger:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            stranger.get(f"https://localhost:{https_gateway.http_port}/v1/models")
    # Plain HTTP to a TLS port: closed without an HTTP answer.
    for port in (https_gateway.http_port, https_gateway.admin_port):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while chunk := raw.recv(4096):
                answer += chunk
            assert b"HTTP/1.1" not in answer
    with httpx.Client(verify=trusting(certs)) as client:
        assert client.get(f"https://localhost:{https_gateway.admin_port}/healthz").text == "ok\n"


def test_a_client_certificate_is_its_tenant_over_https(https_gateway, certs):
    url = f"https://localhost:{https_gateway.http_port}/v1/models"
    with httpx.Client(verify=trusting(certs)) as anonymous:
        refused = anonymous.get(url)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated"
    with httpx.Client(verify=trusting(certs, client_cert=True)) as mesh:
        models = mesh.get(url)
    assert models.status_code == 200, models.text
    assert any(m["id"] == "llama3" for m in models.json()["data"])
    wait_for(lambda: any(line.get("tenant") == "mesh" and line.get("method") == "ListModels"
                         for line in https_gateway.call_lines()),
             10, "a call over HTTPS admitted as the certificate's tenant")


def test_required_client_certificates_on_the_front_door(certs, keys, fake):
    """With require_client_cert (the default) HTTPS without a certificate fails
    the handshake; the admin port never asks for one (probes have none)."""
    server = Gateway(f"""tls:
  cert_file: {certs.server}
  key_file: {certs.server_key}
  client_ca_file: {certs.ca}
  admin: true
auth: {{keys_file: {keys.path}}}
""", fake.port)
    try:
        url = f"https://localhost:{server.http_port}/v1/models"
        with httpx.Client(verify=trusting(certs)) as anonymous:
            with pytest.raises(httpx.HTTPError):
                anonymous.get(url)
        with httpx.Client(verify=trusting(certs, client_cert=True)) as mesh:
            assert mesh.get(url).status_code == 200
        with httpx.Client(verify=trusting(certs)) as probe:
            assert probe.get(f"https://localhost:{server.admin_port}/readyz").status_code == 200
    finally:
        server.stop()


def test_websocket_stream_over_wss(https_gateway, keys, certs):
    ws = websocket.create_connection(
        f"wss://localhost:{https_gateway.http_port}/v1/stream/transcribe", timeout=60,
        sslopt={"ca_certs": str(certs.ca)},
        header=[f"authorization: Bearer {keys.key('search')}"])
    ws.send(json.dumps({"format": {"encoding": "AUDIO_ENCODING_LINEAR16",
                                   "sampleRateHertz": 16000, "channelCount": 1}}))
    ws.send_binary(bytes(32000))  # 1 s of silence
    ws.send(json.dumps({"type": "end"}))
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            break
    assert int.from_bytes(data[:2], "big") == 1000, data


def test_admin_port_over_https(https_gateway, keys, certs):
    base = f"https://localhost:{https_gateway.admin_port}"
    with httpx.Client(verify=trusting(certs)) as client:
        assert client.get(f"{base}/readyz").status_code == 200
        assert client.get(f"{base}/metrics").status_code == 401
        metrics = client.get(f"{base}/metrics",
                             headers={"authorization": f"Bearer {keys.key('ops')}"})
        assert metrics.status_code == 200
        assert "voxgate_tenant_calls_total" in metrics.text
        assert client.get(f"{base}/nothing").status_code == 404
        assert client.post(f"{base}/readyz").status_code == 405
    # The container's HEALTHCHECK.
    probe = subprocess.run([VOXGATE_BIN, "probe", f"https://127.0.0.1:{https_gateway.admin_port}"
                            "/readyz"], capture_output=True, text=True, timeout=30)
    assert probe.returncode == 0, probe.stderr
    plain = subprocess.run([VOXGATE_BIN, "probe", f"http://127.0.0.1:{https_gateway.admin_port}"
                            "/readyz"], capture_output=True, text=True, timeout=30)
    assert plain.returncode == 1


def replace_by_rename(source, target) -> None:
    """As cert-manager and the kubelet do: the new file appears whole."""
    staged = target.with_suffix(".next")
    shutil.copy(source, staged)
    staged.rename(target)


def test_a_rotated_certificate_reaches_new_connections_not_open_ones(https_gateway, certs,
                                                                     keys):
    before = served_certificate(https_gateway.http_port, certs)
    # A keep-alive connection opened before the rotation.
    open_one = http.client.HTTPSConnection("localhost", https_gateway.http_port,
                                           context=trusting(certs), timeout=30)
    headers = {"authorization": f"Bearer {keys.key('search')}"}
    open_one.request("GET", "/v1/models", headers=headers)
    assert open_one.getresponse().read() and open_one.sock is not None
    first_socket = open_one.sock

    # A half-written rotation (a key that is not PEM) keeps the old certificate.
    warnings_before = https_gateway.process.output().count("do not load")
    replace_by_rename(certs.ca, https_gateway.key)  # not a private key
    wait_for(lambda: https_gateway.process.output().count("do not load") > warnings_before, 30,
             "the gateway to notice the broken key")
    assert served_certificate(https_gateway.http_port, certs) == before

    new_cert, new_key = certs.issue("rotated-https", "localhost",
                                    "subjectAltName=DNS:localhost,IP:127.0.0.1")
    replace_by_rename(new_key, https_gateway.key)
    replace_by_rename(new_cert, https_gateway.cert)
    rotated = ssl.PEM_cert_to_DER_cert(new_cert.read_text())
    for port in (https_gateway.http_port, https_gateway.admin_port):
        wait_for(lambda port=port: served_certificate(port, certs) == rotated, 60,
                 f"new handshakes on port {port} to get the rotated certificate", poll_s=0.2)

    # The connection from before goes on, on its own socket and certificate.
    open_one.request("GET", "/v1/models", headers=headers)
    reply = open_one.getresponse()
    assert reply.status == 200 and reply.read()
    assert open_one.sock is first_socket
    assert open_one.sock.getpeercert(binary_form=True) == before
    open_one.close()
    output = https_gateway.process.output()
    assert https_gateway.process.process.poll() is None and output.count('"serving"') == 1
    # The key's contents are never logged, not even when it failed to load.
    for secret in (new_key.read_text(), certs.server_key.read_text()):
        body = "".join(secret.splitlines()[1:-1])
        assert body[:64] not in output.replace("\\n", "")


def fake_in_flight(fake) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{fake.port}/_fake/stats",
                                timeout=10) as reply:
        return json.load(reply)["in_flight"]


@pytest.mark.parametrize("close_notify", [False, True])
def test_an_https_client_hanging_up_cancels_the_upstream_request(https_gateway, keys, certs,
                                                                 fake, close_notify):
    """Over TLS a hang-up may come as the client's close_notify (encrypted like
    data) before the TCP close: either way the upstream request is cancelled."""
    urllib.request.urlopen(urllib.request.Request(
        f"http://127.0.0.1:{fake.port}/_fake/script", method="POST",
        data=json.dumps({"path": "/v1/chat/completions", "behavior": {"hang": True},
                         "times": 1}).encode(),
        headers={"content-type": "application/json"}), timeout=10).read()
    body = json.dumps({"model": "llama3", "messages": [{"role": "user", "content": "hold"}]})
    raw = socket.create_connection(("127.0.0.1", https_gateway.http_port), timeout=10)
    tls = trusting(certs).wrap_socket(raw, server_hostname="localhost")
    tls.sendall((f"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                 f"Authorization: Bearer {keys.key('search')}\r\n"
                 f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                 + body).encode())
    wait_for(lambda: fake_in_flight(fake) == 1, 20, "the call to reach the fake")
    if close_notify:
        tls.setblocking(False)
        with pytest.raises(ssl.SSLWantReadError):  # sent; the answer is not awaited
            tls.unwrap()
    tls.close()
    wait_for(lambda: fake_in_flight(fake) == 0, 20, "the upstream request to be cancelled")
    with httpx.Client(verify=trusting(certs)) as client:
        assert client.get(f"https://localhost:{https_gateway.admin_port}/healthz").status_code == 200
