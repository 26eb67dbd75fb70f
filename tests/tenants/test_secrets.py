"""API keys, the upstream's key and the TLS private key never appear in the
gateway's logs, its metrics or the errors callers get, whatever callers send."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

import grpc

import voxgate
from voxgate.v1 import chat_pb2, models_pb2, service_pb2_grpc

from conftest import Gateway, mint_key

UPSTREAM_KEY = "sk-upstream-0123456789abcdefSECRET"


def pem_body_lines(path) -> list:
    return [line for line in path.read_text().splitlines()
            if line and not line.startswith("-----")]


def test_no_secret_reaches_logs_metrics_or_errors(keys, certs, fake, redis, work):
    gateway = Gateway(f"""tls: {{cert_file: {certs.server}, key_file: {certs.server_key}}}
auth: {{keys_file: {keys.path}, open_metrics: true}}
redis: {{address: "{redis.address}"}}
""", fake.port, env={"VOXGATE_TEST_UPSTREAM_KEY": UPSTREAM_KEY},
        pool_extra="\n    api_key_env: VOXGATE_TEST_UPSTREAM_KEY")
    errors = []
    try:
        credentials = grpc.ssl_channel_credentials(certs.ca.read_bytes())
        stub = service_pb2_grpc.VoxgateServiceStub(
            grpc.secure_channel(f"localhost:{gateway.port}", credentials))
        unknown = mint_key("search")["key"]  # well formed, never in the keys file
        attempts = [keys.key("search"), keys.key("limited"), unknown, unknown[:-1],
                    "Bearer " + keys.key("ops"), "sk-" + keys.key("shared")]
        for key in attempts:
            for header in ("authorization", "x-api-key"):
                value = f"Bearer {key}" if header == "authorization" else key
                for call in (
                        lambda m: stub.ListModels(models_pb2.ListModelsRequest(), timeout=10,
                                                  metadata=m),
                        lambda m: stub.Chat(chat_pb2.ChatRequest(
                            model="gpt-4o", messages=[chat_pb2.ChatMessage(
                                role=chat_pb2.ROLE_USER,
                                content=[chat_pb2.ContentPart(text=key)])]),
                            timeout=10, metadata=m)):
                    try:
                        call(((header, value),))
                    except grpc.RpcError as error:
                        errors.append(error.details())
                        errors.append(repr(error.trailing_metadata()))
        # The limited tenant's rate limit, the upstream failing with its key set.
        for _ in range(5):
            try:
                stub.ListModels(models_pb2.ListModelsRequest(), timeout=10,
                                metadata=(("authorization", f"Bearer {keys.key('limited')}"),))
            except grpc.RpcError as error:
                errors.append(error.details())
        with voxgate.Client(f"localhost:{gateway.port}", ca_file=str(certs.ca),
                            api_key=keys.key("search"), timeout_s=10) as client:
            assert client.chat_completion([{"role": "user", "content": "hello"}])
        # The HTTP front door serves TLS with the same certificate (tls.http).
        trusted = ssl.create_default_context(cafile=str(certs.ca))
        for key in (None, unknown, keys.key("search")):
            request = urllib.request.Request(
                f"https://localhost:{gateway.http_port}/v1/chat/completions",
                data=json.dumps({"model": "gpt-4o", "messages": [
                    {"role": "user", "content": "hi"}]}).encode(),
                headers={"content-type": "application/json",
                         **({"authorization": f"Bearer {key}"} if key else {})})
            try:
                urllib.request.urlopen(request, timeout=10, context=trusted).read()
            except urllib.error.HTTPError as error:
                errors.append(error.read().decode())
        with urllib.request.urlopen(f"http://127.0.0.1:{gateway.admin_port}/metrics",
                                    timeout=10) as reply:
            metrics = reply.read().decode()
    finally:
        gateway.stop()
    assert len(errors) > 20
    logs = gateway.process.output()
    assert '"tenant":"search"' in logs  # the logs do name who called
    secrets = {"upstream key": UPSTREAM_KEY, "unknown key secret": unknown[17:]}
    for name, minted in keys.minted.items():
        secrets[f"{name}'s key"] = minted["key"]
        secrets[f"{name}'s secret"] = minted["key"][17:]
    for number, line in enumerate(pem_body_lines(certs.server_key)):
        secrets[f"server private key line {number}"] = line
    for where, text in (("logs", logs), ("metrics", metrics),
                        ("errors", "\n".join(errors))):
        for name, secret in secrets.items():
            assert secret not in text, f"{name} appears in the {where}"
