"""Connections a caller can make the front door hold: at http.max_connections
the door stops accepting (newcomers wait in the listen queue) instead of
running out of descriptors, one address holds at most
http.max_connections_per_peer, and the admin port's probes answer throughout.
Every wait is for an event with a deadline."""

from __future__ import annotations

import re
import resource
import socket
import urllib.request
from typing import List

import pytest

from conftest import Gateway, wait_for


def admin_port(gateway: Gateway) -> int:
    line = gateway.process.wait_for_line(r'.*"serving".*', 60).group(0)
    return int(re.search(r'"admin_port":(\d+)', line).group(1))


def probe_answers(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as reply:
        return reply.status == 200


def served(gateway: Gateway, timeout_s: float = 10) -> bool:
    """Whether a fresh connection gets an answer to GET /v1/models."""
    try:
        with urllib.request.urlopen(f"{gateway.api}/models", timeout=timeout_s) as reply:
            return reply.status == 200
    except OSError:
        return False


def open_idle(count: int, port: int, sources: List[str]) -> List[socket.socket]:
    """`count` idle connections spread over `sources` (loopback addresses);
    connections the server's queue cannot take fail and are skipped."""
    sockets = []
    for i in range(count):
        sock = socket.socket()
        sock.settimeout(2)
        sock.bind((sources[i % len(sources)], 0))
        try:
            sock.connect(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        sockets.append(sock)
    return sockets


def close_all(sockets: List[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


def test_ten_thousand_idle_connections_leave_probes_and_the_door_working(fake):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 10500:
        pytest.skip(f"needs 10,500 descriptors for the client side; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 12000), hard))
    gateway = Gateway(fake, extra="  max_connections: 10000\n")
    try:
        admin = admin_port(gateway)
        # Ten loopback addresses, a thousand each: the per-peer cap's default.
        sources = [f"127.0.0.{i}" for i in range(2, 12)]
        idle = open_idle(10000, gateway.http_port, sources)
        assert len(idle) >= 9000
        assert probe_answers(admin)
        # The door is full: an eleventh peer's request waits in the queue...
        assert not served(gateway, timeout_s=1)
        # ...and is answered once connections close.
        close_all(idle[:200])
        wait_for(lambda: served(gateway), 30, "the front door serving again")
        close_all(idle[200:])
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        gateway.stop()


def test_600_connections_with_512_descriptors_never_exhaust_them(fake):
    gateway = Gateway(fake, prefix=["prlimit", "--nofile=512:512"])
    try:
        admin = admin_port(gateway)
        idle = open_idle(600, gateway.http_port, [f"127.0.0.{i}" for i in range(2, 8)])
        # 384 taken (512 less the 128 kept), the rest queued or refused by
        # the kernel: the process keeps descriptors for its probes.
        assert probe_answers(admin)
        close_all(idle[:300])
        wait_for(lambda: served(gateway), 30, "the front door serving again")
        assert probe_answers(admin)
        close_all(idle[300:])
    finally:
        gateway.stop()


def test_one_address_holds_at_most_max_connections_per_peer(fake):
    gateway = Gateway(fake, extra="  max_connections_per_peer: 20\n")
    try:
        idle = open_idle(20, gateway.http_port, ["127.0.0.2"])
        assert len(idle) == 20
        # Accepted by the kernel, then closed unanswered by the gateway.
        extra = open_idle(1, gateway.http_port, ["127.0.0.2"])[0]
        extra.settimeout(10)
        assert extra.recv(1) == b""
        extra.close()
        assert served(gateway)  # another address is served meanwhile
        close_all(idle)
    finally:
        gateway.stop()
