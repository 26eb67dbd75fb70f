"""Every start-up failure exits 1 and names its cause on stderr: a taken port
on each listener (the HTTP door's once died of SIGSEGV, exit 139, printing
nothing), a certificate that does not load, an unreadable keys file, Redis
unreachable at start. And a clean stop exits 0."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile

import pytest

from conftest import VOXGATE_BIN, Process, free_port  # noqa: F401


def run_gateway(config: str, *flags: str, timeout_s: float = 60):
    """Runs the gateway to its end: (exit code, output)."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as file:
        file.write(config)
    try:
        argv = [VOXGATE_BIN, f"--config={file.name}", "--listen=127.0.0.1:0",
                "--admin_listen=127.0.0.1:0", "--http_listen=127.0.0.1:0", *flags]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
        return done.returncode, done.stdout + done.stderr
    finally:
        os.unlink(file.name)


@pytest.fixture
def taken_port():
    """A loopback port another socket listens on."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    yield holder.getsockname()[1]
    holder.close()


@pytest.mark.parametrize("flag,key", [("--http_listen", "server.http_listen"),
                                      ("--admin_listen", "admin"),
                                      ("--listen", "listen")])
def test_a_taken_port_exits_1_naming_the_listener(taken_port, flag, key):
    code, output = run_gateway("", f"{flag}=127.0.0.1:{taken_port}")
    assert code == 1, output[-2000:]
    assert str(taken_port) in output
    assert key in output, output[-2000:]


def test_a_certificate_that_does_not_load_exits_1_naming_the_file(tmp_path):
    cert = tmp_path / "cert.pem"
    key = tmp_path / "key.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
    key.write_text("-----BEGIN PRIVATE KEY-----\nsecret-bytes\n")
    code, output = run_gateway(f"tls: {{cert_file: {cert}, key_file: {key}}}\n")
    assert code == 1, output[-2000:]
    assert "tls.cert_file" in output or "tls.key_file" in output, output[-2000:]
    assert "secret-bytes" not in output


def test_an_unreadable_keys_file_exits_1_naming_it(tmp_path):
    missing = tmp_path / "no-such-keys.yaml"
    code, output = run_gateway(f"auth: {{keys_file: {missing}}}\n")
    assert code == 1, output[-2000:]
    assert "keys_file" in output and str(missing) in output, output[-2000:]


def test_redis_unreachable_at_start_exits_1_naming_it_under_the_closed_policy():
    closed = free_port()  # nothing listens there
    code, output = run_gateway(
        f'redis: {{address: "127.0.0.1:{closed}", on_failure: closed}}\n')
    assert code == 1, output[-2000:]
    assert f"redis.address: cannot reach 127.0.0.1:{closed}" in output, output[-2000:]


def test_redis_unreachable_at_start_warns_and_serves_under_the_open_policy():
    # The open policy's promise: an outage of the limits store is not an
    # outage of the gateway, at start either.
    closed = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as file:
        file.write(f'redis: {{address: "127.0.0.1:{closed}"}}\n')
    process = Process([VOXGATE_BIN, f"--config={file.name}", "--listen=127.0.0.1:0",
                       "--admin_listen=127.0.0.1:0", "--http_listen=127.0.0.1:0"])
    try:
        process.wait_for_line(r'"serving"', 60)
        process.wait_for_line(rf'unreachable.*127\.0\.0\.1:{closed}', 60)
    finally:
        process.stop()
        os.unlink(file.name)


def test_sigterm_stops_a_serving_gateway_with_exit_0():
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as file:
        file.write("")
    process = Process([VOXGATE_BIN, f"--config={file.name}", "--listen=127.0.0.1:0",
                       "--admin_listen=127.0.0.1:0", "--http_listen=127.0.0.1:0"])
    try:
        process.wait_for_line(r'"serving"', 60)
        process.process.send_signal(signal.SIGTERM)
        assert process.process.wait(timeout=60) == 0, process.output()[-2000:]
    finally:
        os.unlink(file.name)
