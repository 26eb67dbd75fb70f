#!/usr/bin/env python3
"""Peak RSS of the gateway for each hostile input of issue 27, an old binary
and the current one side by side in the same run. Each input goes to a fresh
gateway on loopback (no model server: the embedded engine, and nothing here
reaches an upstream), then the process's peak resident set (VmHWM) less its
peak before the request is the cost of that one request.

    bazel build //gateway:voxgate //client/cpp:voxgate-cli
    ~/.cache/voxgate-tools/venv/bin/python bench/hostile_memory.py \\
        --before /path/to/old/voxgate [--after bazel-bin/gateway/voxgate]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import socket
import subprocess
import sys
import tempfile

import grpc

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from process_harness import Process, peak_rss_bytes  # noqa: E402

MIB = 1 << 20
BODY_BYTES = 31 * MIB


def empty_objects(size: int) -> bytes:
    """{"model": ..., "messages": [], "x": [{},{},...]} of `size` bytes."""
    head = b'{"model": "m", "messages": [], "x": ['
    count = (size - len(head) - 2) // 3
    return head + b"{}," * (count - 1) + b"{}]}"


def empty_parts(size: int) -> bytes:
    """A ChatRequest whose one message holds `size`/2 empty content parts."""
    parts = b"\x12\x00" * (size // 2)
    length = len(parts)
    varint = bytearray()
    while True:
        byte = length & 0x7F
        length >>= 7
        varint.append(byte | (0x80 if length else 0))
        if not length:
            break
    return b"\x12" + bytes(varint) + parts


def post(port: int, body: bytes, key: str = "") -> str:
    auth = f"authorization: Bearer {key}\r\n" if key else ""
    with socket.create_connection(("127.0.0.1", port), timeout=300) as sock:
        sock.sendall((f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"content-type: application/json\r\n{auth}"
                      f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode())
        try:
            sock.sendall(body)
        except OSError:
            pass  # answered from the head and closed
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    return answer.split(b"\r\n", 1)[0].decode(errors="replace") or "(closed)"


def grpc_chat(port: int, body: bytes) -> str:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[
        ("grpc.max_send_message_length", 64 * MIB)])
    chat = channel.unary_unary("/voxgate.v1.VoxgateService/Chat",
                               request_serializer=None, response_deserializer=None)
    try:
        chat(body, timeout=300)
        return "OK"
    except grpc.RpcError as error:
        return error.code().name


def measure(binary: str, config: str, send) -> tuple:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as file:
        file.write(config)
    process = Process([binary, f"--config={file.name}", "--listen=127.0.0.1:0",
                       "--admin_listen=127.0.0.1:0", "--http_listen=127.0.0.1:0"])
    try:
        line = process.wait_for_line(r'.*"serving".*', 60).group(0)
        ports = {name: int(json.loads(line)[name]) for name in ("grpc_port", "http_port")}
        before = peak_rss_bytes(process.process.pid)
        answer = send(ports)
        alive = process.process.poll() is None
        after = peak_rss_bytes(process.process.pid) if alive else None
        return answer, (after - before) / MIB if alive else None, alive
    finally:
        process.stop()
        pathlib.Path(file.name).unlink()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", default=str(REPO / "bazel-bin/gateway/voxgate"))
    parser.add_argument("--cli", default=str(REPO / "bazel-bin/client/cpp/voxgate-cli"))
    args = parser.parse_args()
    minted = json.loads(subprocess.run([args.after, "mint-key", "--tenant=t", "--json"],
                                       check=True, capture_output=True, text=True).stdout)
    work = pathlib.Path(tempfile.mkdtemp())
    keys = work / "keys.yaml"
    keys.write_text(f'tenants:\n  - name: t\nkeys:\n  - {{id: "{minted["id"]}", '
                    f'tenant: "t", hash: "{minted["hash"]}"}}\n')
    with_keys = f"auth: {{keys_file: {keys}}}\n"
    objects = empty_objects(BODY_BYTES)
    parts = empty_parts(BODY_BYTES)
    cases = [
        ("HTTP, no key, 31 MiB `[{},{},...]` chat body (keys file set)", with_keys,
         lambda ports: post(ports["http_port"], objects)),
        ("HTTP, keyless gateway, 31 MiB `[{},{},...]` chat body", "",
         lambda ports: post(ports["http_port"], objects)),
        ("HTTP, with a key, 31 MiB `[{},{},...]` chat body", with_keys,
         lambda ports: post(ports["http_port"], objects, minted["key"])),
        ("gRPC, keyless, 31 MiB of empty repeated content parts", "",
         lambda ports: grpc_chat(ports["grpc_port"], parts)),
        ("gRPC, no key, 31 MiB of empty repeated content parts (keys file set)",
         with_keys, lambda ports: grpc_chat(ports["grpc_port"], parts)),
    ]
    print("| input | before: answer | before: peak RSS added | after: answer | "
          "after: peak RSS added |")
    print("|---|---|---|---|---|")
    for name, config, send in cases:
        cells = []
        for binary in (args.before, args.after):
            answer, added, alive = measure(binary, config, send)
            cells += [answer if alive else f"{answer}; process died",
                      f"{added:,.1f} MiB" if added is not None else "died"]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
