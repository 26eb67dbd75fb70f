"""Tenants against real components on loopback: the voxgate binary with a keys
file, real TLS with certificates made by `openssl` at test time, and a real
`redis-server` on a free port for limits shared by several gateways.

Every wait is for an event (a log line, a handshake that shows the new
certificate) with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import warnings
from typing import Dict, List

import pytest

HERE = pathlib.Path(__file__).resolve()
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(REPO / "client/python/src"))
from process_harness import Process, Redis, free_port, wait_for  # noqa: E402,F401

VOXGATE_BIN = os.environ.get("VOXGATE_BIN", str(REPO / "bazel-bin/gateway/voxgate"))
CLI_BIN = os.environ.get("VOXGATE_CLI_BIN", str(REPO / "bazel-bin/client/cpp/voxgate-cli"))
FAKE_BIN = os.environ.get("FAKE_UPSTREAM_BIN",
                          str(REPO / "bazel-bin/tests/fake_upstream/fake_upstream_server"))
CLIENT_ID = "spiffe://voxgate.test/ns/apps/sa/web"


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


class Certificates:
    """A CA, a server certificate for localhost and 127.0.0.1, a client
    certificate with a SPIFFE URI SAN, and a second, unrelated CA with its own
    client certificate."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        self.ca, self.ca_key = self._ca("voxgate-test-ca")
        self.other_ca, self.other_ca_key = self._ca("some-other-ca")
        self.server, self.server_key = self.issue("server", "localhost",
                                                  "subjectAltName=DNS:localhost,IP:127.0.0.1")
        self.client, self.client_key = self.issue("client", "web",
                                                  f"subjectAltName=URI:{CLIENT_ID}")
        self.stranger, self.stranger_key = self.issue(
            "stranger", "stranger", f"subjectAltName=URI:{CLIENT_ID}", ca="other")

    def _ca(self, name: str):
        cert, key = self.root / f"{name}.pem", self.root / f"{name}.key"
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                f"/CN={name}", "-keyout", str(key), "-out", str(cert))
        return cert, key

    def issue(self, name: str, common_name: str, extension: str, ca: str = "main"):
        cert, key = self.root / f"{name}.pem", self.root / f"{name}.key"
        csr, ext = self.root / f"{name}.csr", self.root / f"{name}.ext"
        ext.write_text(extension + "\n")
        ca_cert, ca_key = ((self.ca, self.ca_key) if ca == "main"
                           else (self.other_ca, self.other_ca_key))
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={common_name}",
                "-keyout", str(key), "-out", str(csr))
        openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
                "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(cert))
        return cert, key


def rotatable_serving_files(certs: Certificates, work: pathlib.Path, name: str):
    """Copies of the server certificate and key that a rotation test may
    replace."""
    cert, key = work / f"{name}.pem", work / f"{name}.key"
    shutil.copy(certs.server, cert)
    shutil.copy(certs.server_key, key)
    return cert, key


def assert_tls11_refused(port: int) -> None:
    """A TLS 1.1 handshake to `port` fails (the gateway serves 1.2 and up)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # TLS 1.1 is what is being refused
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with pytest.raises(ssl.SSLError):
            context.wrap_socket(raw, server_hostname="localhost")


def mint_key(tenant: str) -> Dict[str, str]:
    out = subprocess.run([VOXGATE_BIN, "mint-key", f"--tenant={tenant}", "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


class Keys:
    """A keys file with tenants and freshly minted keys (the plaintext keys stay
    in the test)."""

    def __init__(self, path: pathlib.Path, tenants_yaml: str, keys: Dict[str, str]) -> None:
        self.path = path
        self.minted = {name: mint_key(tenant) for name, tenant in keys.items()}
        lines = [f'  - {{id: "{k["id"]}", tenant: "{k["tenant"]}", hash: "{k["hash"]}"}}'
                 for k in self.minted.values()]
        path.write_text(tenants_yaml + "keys:\n" + "\n".join(lines) + "\n")

    def key(self, name: str) -> str:
        return self.minted[name]["key"]


TENANTS = f"""tenants:
  - name: search
    labels: {{team: search, cost_center: "42"}}
    methods: [Chat, ChatStream, ListModels, StreamTranscribe, Transcribe]
    models: [llama3, default]
  - name: ops
    methods: [Metrics, ListModels]
  - name: mesh
    identities: ["{CLIENT_ID}"]
  - name: limited
    limits:
      requests_per_minute: {{general: 3}}
  - name: single
    limits:
      max_concurrent_calls: 1
  - name: shared
    limits:
      requests_per_minute: {{general: 300}}
  - name: budget
    limits:
      tokens_per_day: 10
  - name: busy
    limits:
      requests_per_minute: {{general: 1000000}}
  - name: leased
    limits:
      requests_per_minute: {{general: 100000}}
  - name: streamer
    methods: [ChatStream]
    limits:
      tokens_per_day: 40
  - name: analyst
    methods: [Analyze]
    models: [llama3, default]
  - name: batcher
    methods: [BatchTranscribe, WaitOperation, GetOperation, Transcribe]
    limits:
      audio_seconds_per_hour: 5
  - name: listener
    methods: [Chat, ChatStream]
    limits:
      audio_seconds_per_hour: 5
  - name: archivist
    methods: [Transcribe]
    fetch_allowed_hosts: ["127.0.0.1"]
  - name: nightly
    methods: [BatchTranscribe, WaitOperation]
    limits:
      audio_seconds_per_hour: 5
"""


class Gateway:
    """The voxgate binary on free ports with a config of its own."""

    def __init__(self, config: str, fake_port: int = 0, env: dict = None,
                 pool_extra: str = "") -> None:
        pools = ""
        if fake_port:
            pools = f"""pools:
  - name: llm
    protocol: openai_chat
    endpoints: [{{url: "http://127.0.0.1:{fake_port}/v1", max_concurrency: 64}}]
    models: [llama3]
    health_check: {{path: ""}}{pool_extra}
  - name: embedded
    protocol: embedded
routing: {{text_pool: llm, audio_pool: embedded}}
"""
        self._config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        self._config.write(pools + config)
        self._config.close()
        self.process = Process([VOXGATE_BIN, f"--config={self._config.name}",
                                "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
                                "--http_listen=127.0.0.1:0"],
                               env={**os.environ, **(env or {})})
        line = self.process.wait_for_line(r'.*"serving".*', 60).group(0)
        self.port = int(re.search(r'"grpc_port":(\d+)', line).group(1))
        self.http_port = int(re.search(r'"http_port":(\d+)', line).group(1))
        self.admin_port = int(re.search(r'"admin_port":(\d+)', line).group(1))
        self.address = f"127.0.0.1:{self.port}"

    def call_lines(self) -> List[dict]:
        return [json.loads(line) for line in self.process.output().splitlines()
                if line.startswith("{") and '"msg":"call"' in line]

    def stop(self) -> None:
        self.process.stop()
        os.unlink(self._config.name)


class Fake:
    def __init__(self) -> None:
        self.process = Process([FAKE_BIN])
        self.port = int(self.process.wait_for_line(r'"port": (\d+)', 30).group(1))


@pytest.fixture(scope="session")
def work(tmp_path_factory) -> pathlib.Path:
    return tmp_path_factory.mktemp("tenants")


@pytest.fixture(scope="session")
def certs(work) -> Certificates:
    return Certificates(work)


@pytest.fixture(scope="session")
def keys(work) -> Keys:
    return Keys(work / "keys.yaml", TENANTS,
                {name: name for name in ("search", "ops", "limited", "single", "shared",
                                         "budget", "busy", "leased", "batcher", "analyst",
                                         "streamer", "listener", "nightly", "archivist")})


@pytest.fixture(scope="session")
def fake():
    server = Fake()
    yield server
    server.process.stop()


@pytest.fixture(scope="session")
def redis():
    server = Redis()
    yield server
    server.kill()


@pytest.fixture(scope="session")
def gateway(keys, fake):
    """Keys on, limits local, plaintext."""
    server = Gateway(f"auth: {{keys_file: {keys.path}}}\n", fake.port)
    yield server
    server.stop()
