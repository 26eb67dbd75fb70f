"""`voxgate probe`, the image's HEALTHCHECK, against admin ports that do not
answer as they should: it must fail (exit 1, saying why) and never hang."""

from __future__ import annotations

import socket
import subprocess
import threading

from conftest import VOXGATE_BIN


def probe(url: str) -> subprocess.CompletedProcess:
    # The probe bounds itself (3 s); the runtime's own timeout is 5 s.
    return subprocess.run([VOXGATE_BIN, "probe", url], capture_output=True, text=True,
                          timeout=30)


def test_a_server_that_accepts_and_never_answers_fails_the_probe():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        accepted = []
        threading.Thread(target=lambda: accepted.append(listener.accept()),
                         daemon=True).start()
        result = probe(f"http://127.0.0.1:{port}/readyz")
        assert result.returncode == 1
        assert "timeout" in result.stderr.lower() or "timed out" in result.stderr.lower(), \
            result.stderr
        assert accepted  # it did connect: the silence is what failed it
        accepted[0][0].close()


def test_a_closed_port_and_a_failing_answer_fail_the_probe():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    refused = probe(f"http://127.0.0.1:{port}/readyz")
    assert refused.returncode == 1 and f"127.0.0.1:{port}" in refused.stderr

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def answer_draining() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(4096)
                connection.sendall(b"HTTP/1.1 503 Service Unavailable\r\n"
                                   b"Content-Length: 8\r\nConnection: close\r\n\r\ndraining")

        threading.Thread(target=answer_draining, daemon=True).start()
        draining = probe(f"http://127.0.0.1:{port}/readyz")
    assert draining.returncode == 1 and "503" in draining.stderr
