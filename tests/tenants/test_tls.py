"""TLS and mTLS with each client (Python, Go, the C++ CLI), a wrong CA
refused, and a rotated certificate served without a restart."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess

import grpc
import pytest

import voxgate

from conftest import (CLI_BIN, REPO, Gateway, assert_tls11_refused, rotatable_serving_files,
                      wait_for)


@pytest.fixture(scope="module")
def mtls_gateway(certs, keys, work):
    cert, key = rotatable_serving_files(certs, work, "serving")
    server = Gateway(f"""tls:
  cert_file: {cert}
  key_file: {key}
  client_ca_file: {certs.ca}
  reload_interval: 1s
auth: {{keys_file: {keys.path}}}
""")
    server.cert, server.key = cert, key
    yield server
    server.stop()


def served_certificate(port: int, certs) -> bytes:
    """The certificate a new TLS handshake gets (with our client certificate)."""
    context = ssl.create_default_context(cafile=str(certs.ca))
    context.load_cert_chain(str(certs.client), str(certs.client_key))
    context.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.selected_alpn_protocol() == "h2"
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
            return tls.getpeercert(binary_form=True)


def test_python_client_with_a_client_certificate_is_its_tenant(mtls_gateway, certs):
    with voxgate.Client(f"localhost:{mtls_gateway.port}", ca_file=str(certs.ca),
                        client_cert_file=str(certs.client),
                        client_key_file=str(certs.client_key), timeout_s=30) as client:
        assert client.list_models()
    wait_for(lambda: any(line.get("tenant") == "mesh" for line in mtls_gateway.call_lines()),
             10, "a call admitted as the certificate's tenant")


def assert_handshake_fails(gateway, **files) -> None:
    with voxgate.Client(f"localhost:{gateway.port}", timeout_s=5,
                        retry=voxgate.RetryPolicy(attempts=1),
                        **{name: str(path) for name, path in files.items()}) as client:
        with pytest.raises(voxgate.errors.UpstreamUnavailableError):
            client.list_models()


def test_python_client_without_a_certificate_or_trusting_another_ca_fails(mtls_gateway, certs):
    assert_handshake_fails(mtls_gateway, ca_file=certs.ca)
    assert_handshake_fails(mtls_gateway, ca_file=certs.other_ca,
                           client_cert_file=certs.client, client_key_file=certs.client_key)


def test_a_certificate_from_another_ca_is_refused_by_the_gateway(mtls_gateway, certs):
    """The stranger's certificate names the mesh tenant's identity, but its CA
    is not the gateway's client CA: the handshake fails."""
    assert_handshake_fails(mtls_gateway, ca_file=certs.ca,
                           client_cert_file=certs.stranger, client_key_file=certs.stranger_key)
    wait_for(lambda: "Handshake failed" in mtls_gateway.process.output(), 10,
             "the gateway to refuse the handshake")


def test_plaintext_and_old_tls_are_refused(mtls_gateway):
    channel = grpc.insecure_channel(mtls_gateway.address)
    with pytest.raises(grpc.FutureTimeoutError):
        grpc.channel_ready_future(channel).result(timeout=3)
    assert_tls11_refused(mtls_gateway.port)


def test_go_client_over_mtls(mtls_gateway, certs):
    result = subprocess.run(
        ["go", "run", "./examples/models", "-address", f"localhost:{mtls_gateway.port}",
         "-ca", str(certs.ca), "-cert", str(certs.client), "-key", str(certs.client_key)],
        cwd=REPO / "client/go", capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "pocketsphinx-en-us" in result.stdout
    wrong = subprocess.run(
        ["go", "run", "./examples/models", "-address", f"localhost:{mtls_gateway.port}",
         "-ca", str(certs.other_ca), "-cert", str(certs.client), "-key", str(certs.client_key)],
        cwd=REPO / "client/go", capture_output=True, text=True, timeout=600)
    assert wrong.returncode != 0 and "certificate" in wrong.stderr


def test_cli_over_mtls(mtls_gateway, certs):
    base = [CLI_BIN, f"--address=localhost:{mtls_gateway.port}", "--timeout=10s"]
    ok = subprocess.run(base + [f"--ca-file={certs.ca}", f"--cert-file={certs.client}",
                                f"--key-file={certs.client_key}", "models"],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "pocketsphinx-en-us" in ok.stdout
    wrong = subprocess.run(base + [f"--ca-file={certs.other_ca}", f"--cert-file={certs.client}",
                                   f"--key-file={certs.client_key}", "models"],
                           capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 14  # UNAVAILABLE: the handshake failed


def test_a_rotated_certificate_is_served_without_a_restart(mtls_gateway, certs, work):
    before = served_certificate(mtls_gateway.port, certs)
    # An open connection made before the rotation.
    channel = grpc.secure_channel(
        f"localhost:{mtls_gateway.port}",
        grpc.ssl_channel_credentials(certs.ca.read_bytes(), certs.client_key.read_bytes(),
                                     certs.client.read_bytes()))
    from voxgate.v1 import models_pb2, service_pb2_grpc
    stub = service_pb2_grpc.VoxgateServiceStub(channel)
    assert stub.ListModels(models_pb2.ListModelsRequest(), timeout=10).models
    new_cert, new_key = certs.issue("rotated", "localhost",
                                    "subjectAltName=DNS:localhost,IP:127.0.0.1")
    # As cert-manager does: the new files replace the old ones by rename.
    for source, target in ((new_key, mtls_gateway.key), (new_cert, mtls_gateway.cert)):
        staged = target.with_suffix(".next")
        shutil.copy(source, staged)
        staged.rename(target)
    wait_for(lambda: served_certificate(mtls_gateway.port, certs) != before, 60,
             "new handshakes to get the rotated certificate", poll_s=0.2)
    assert served_certificate(mtls_gateway.port, certs) == ssl.PEM_cert_to_DER_cert(
        new_cert.read_text())
    # The connection from before still works, and the process never restarted.
    assert stub.ListModels(models_pb2.ListModelsRequest(), timeout=10).models
    assert mtls_gateway.process.process.poll() is None
    assert mtls_gateway.process.output().count('"serving"') == 1
