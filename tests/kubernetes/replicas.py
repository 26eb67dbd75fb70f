"""Three gateway processes as one service, on loopback: a shared Redis and
keys file, the fake upstream for chat, the embedded engine for audio, and
either HAProxy in front (L7, HTTP/2 to each replica, health from /readyz) or a
gRPC client balancing round_robin over the three with health checking."""

from __future__ import annotations

import json
import pathlib
import signal
import socket
import subprocess
import threading
import time
from typing import Callable, Dict, List, Optional

import grpc

from conftest import CLI_BIN, FAKE_BIN, VOXGATE_BIN
from process_harness import Process, wait_for
from voxgate.v1 import (audio_pb2, chat_pb2, models_pb2, service_pb2_grpc, stream_pb2,
                        transcribe_pb2)

DRAIN_DELAY_S = 3  # above HAProxy's detection (inter 300 ms, fall 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mint_key(tenant: str) -> dict:
    out = subprocess.run([VOXGATE_BIN, "mint-key", f"--tenant={tenant}", "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def pools_yaml(fake_port: int, audio: bool = True) -> str:
    """Chat to the fake upstream; audio, when asked, to the embedded engine."""
    text = f"""
pools:
  - name: llm
    protocol: openai_chat
    endpoints: [{{url: "http://127.0.0.1:{fake_port}/v1", max_concurrency: 64}}]
    models: [llama3]
    health_check: {{path: ""}}
"""
    if audio:
        text += "  - {name: embedded, protocol: embedded}\n"
    text += "routing:\n  text_pool: llm\n"
    if audio:
        text += "  audio_pool: embedded\n"
    return text


class Cluster:
    def __init__(self, work: pathlib.Path) -> None:
        self.work = work
        self.redis_port = free_port()
        self.redis = Process(["redis-server", "--port", str(self.redis_port), "--bind",
                              "127.0.0.1", "--save", "", "--appendonly", "no"])
        self.redis.wait_for_line(r"Ready to accept connections", 30)
        self.fake = Process([FAKE_BIN])
        fake_port = int(self.fake.wait_for_line(r'"port": (\d+)', 30).group(1))
        self.keys = {"load": mint_key("load"), "limited": mint_key("limited")}
        keys_file = work / "keys.yaml"
        keys_file.write_text(
            "tenants:\n"
            "  - name: load\n"
            "  - name: limited\n"
            "    limits:\n"
            "      requests_per_minute: {general: 30}\n"
            "keys:\n" + "".join(
                f'  - {{id: "{k["id"]}", tenant: "{k["tenant"]}", hash: "{k["hash"]}"}}\n'
                for k in self.keys.values()))
        self.config = work / "voxgate.yaml"
        self.config.write_text(pools_yaml(fake_port) + f"""
server:
  drain_delay: {DRAIN_DELAY_S}s
  drain_timeout: 30s
auth:
  keys_file: {keys_file}
redis:
  address: 127.0.0.1:{self.redis_port}
""")
        self.ports = [(free_port(), free_port()) for _ in range(3)]
        self.replicas: List[Optional[Process]] = [None, None, None]
        for index in range(3):
            self.start(index)

    def start(self, index: int) -> None:
        grpc_port, admin_port = self.ports[index]
        replica = Process([VOXGATE_BIN, f"--config={self.config}",
                           f"--listen=127.0.0.1:{grpc_port}",
                           f"--admin_listen=127.0.0.1:{admin_port}", "--http_listen=off"])
        replica.wait_for_line(r'"msg":"serving"', 60)
        self.replicas[index] = replica

    def addresses(self) -> List[str]:
        return [f"127.0.0.1:{grpc_port}" for grpc_port, _ in self.ports]

    def roll(self, index: int) -> float:
        """SIGTERM the replica, wait for it to drain and exit, start its
        replacement on the same ports and wait until it is ready. Returns the
        old one's exit code."""
        old = self.replicas[index]
        old.process.send_signal(signal.SIGTERM)
        code = old.process.wait(timeout=60)
        self.start(index)
        return code

    def kill(self, index: int) -> None:
        self.replicas[index].process.send_signal(signal.SIGKILL)
        self.replicas[index].process.wait(timeout=30)

    def calls_served(self, index: int) -> int:
        return self.replicas[index].output().count('"msg":"call"')

    def stop(self) -> None:
        for replica in self.replicas:
            if replica is not None:
                replica.kill()
        self.fake.kill()
        self.redis.kill()


class HAProxy:
    """HAProxy in HTTP mode with HTTP/2 on both sides; each replica's health
    from its admin port's /readyz every 300 ms, so a draining replica leaves
    the rotation well within its drain_delay."""

    def __init__(self, cluster: Cluster, work: pathlib.Path) -> None:
        self.port = free_port()
        servers = "\n".join(
            f"  server g{i} 127.0.0.1:{grpc_port} proto h2 check port {admin_port} check-proto h1 "
            f"inter 300 fall 1 rise 1"
            for i, (grpc_port, admin_port) in enumerate(cluster.ports))
        config = work / "haproxy.cfg"
        config.write_text(f"""
global
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 120s
  timeout server 120s
frontend grpc
  bind 127.0.0.1:{self.port} proto h2
  default_backend gateways
backend gateways
  balance roundrobin
  option httpchk GET /readyz
  retry-on conn-failure empty-response
  retries 2
  option redispatch
{servers}
""")
        self.process = Process(["haproxy", "-db", "-f", str(config)])
        wait_for(lambda: self._listening(), 30, "HAProxy listening")

    def _listening(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        self.process.kill()


RETRY_POLICY = {
    "methodConfig": [{
        "name": [{"service": "voxgate.v1.VoxgateService"}],
        "retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.05s",
                        "maxBackoff": "0.5s", "backoffMultiplier": 2,
                        "retryableStatusCodes": ["UNAVAILABLE"]}}]}


def round_robin_channel(addresses: List[str], retry: bool = True) -> grpc.Channel:
    config: Dict = {"loadBalancingConfig": [{"round_robin": {}}],
                    "healthCheckConfig": {"serviceName": "voxgate.v1.VoxgateService"}}
    if retry:
        config.update(RETRY_POLICY)
    return grpc.insecure_channel(
        "ipv4:" + ",".join(addresses),
        options=[("grpc.service_config", json.dumps(config)),
                 ("grpc.enable_retries", 1 if retry else 0),
                 # Reconnect to a restarted replica promptly.
                 ("grpc.initial_reconnect_backoff_ms", 200),
                 ("grpc.max_reconnect_backoff_ms", 1000)])


def proxy_channel(port: int, retry: bool = True) -> grpc.Channel:
    options = [("grpc.enable_retries", 1 if retry else 0)]
    if retry:
        options.append(("grpc.service_config", json.dumps(RETRY_POLICY)))
    return grpc.insecure_channel(f"127.0.0.1:{port}", options=options)


class MixedLoad:
    """Chat, ChatStream, Transcribe and StreamTranscribe in a loop on worker
    threads until stopped; every call's outcome and latency recorded."""

    def __init__(self, channel: grpc.Channel, key: str, speech: bytes,
                 workers: int = 8, audio: bool = True) -> None:
        self.stub = service_pb2_grpc.VoxgateServiceStub(channel)
        self.metadata = (("authorization", f"Bearer {key}"),)
        self.speech = speech
        self.pcm = speech[44:]
        self.records: List[dict] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.calls: List[Callable[[], None]] = [self._chat, self._chat_stream, self._chat]
        if audio:
            self.calls += [self._transcribe, self._stream_transcribe]
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(workers)]

    def start(self) -> "MixedLoad":
        for thread in self.threads:
            thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=120)

    def _chat(self) -> None:
        self.stub.Chat(chat_pb2.ChatRequest(model="llama3", messages=[chat_pb2.ChatMessage(
            role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text="hi")])]),
            timeout=30, metadata=self.metadata)

    def _chat_stream(self) -> None:
        chunks = list(self.stub.ChatStream(chat_pb2.ChatRequest(
            model="llama3", messages=[chat_pb2.ChatMessage(
                role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text="hi")])]),
            timeout=30, metadata=self.metadata))
        assert chunks

    def _transcribe(self) -> None:
        response = self.stub.Transcribe(transcribe_pb2.TranscribeRequest(
            audio=audio_pb2.AudioInput(content=self.speech)), timeout=60,
            metadata=self.metadata)
        assert response.text

    def _stream_transcribe(self) -> None:
        def requests():
            yield stream_pb2.StreamTranscribeRequest(config=stream_pb2.StreamTranscribeConfig(
                format=audio_pb2.AudioFormat(encoding=audio_pb2.AUDIO_ENCODING_LINEAR16,
                                             sample_rate_hertz=16000, channel_count=1)))
            for start in range(0, len(self.pcm), 16000):  # 0.5 s pieces
                yield stream_pb2.StreamTranscribeRequest(audio=self.pcm[start:start + 16000])
        finals = [r for r in self.stub.StreamTranscribe(requests(), timeout=60,
                                                         metadata=self.metadata)
                  if r.HasField("result") and r.result.is_final]
        assert finals

    def _run(self, worker: int) -> None:
        calls = self.calls
        turn = worker
        while not self.stopping.is_set():
            call = calls[turn % len(calls)]
            turn += 1
            started = time.monotonic()
            code = "OK"
            try:
                call()
            except grpc.RpcError as error:
                code = error.code().name
            except AssertionError:
                code = "EMPTY"
            with self.lock:
                self.records.append({"method": call.__name__.lstrip("_"), "code": code,
                                     "start": started,
                                     "seconds": time.monotonic() - started})

    def summary(self, since: float = 0.0, until: float = float("inf")) -> dict:
        with self.lock:
            chosen = [r for r in self.records if since <= r["start"] <= until]
        latencies = sorted(r["seconds"] for r in chosen)
        failures = [r for r in chosen if r["code"] != "OK"]
        methods = sorted({r["method"] for r in chosen})
        by_method = {}
        for method in methods:
            times = sorted(r["seconds"] for r in chosen if r["method"] == method)
            by_method[method] = round(1000 * times[int(len(times) * 0.99)], 1)
        return {
            "calls": len(chosen), "failed": len(failures),
            "p99_ms_by_method": by_method,
            "failures": failures[:10], "methods": methods,
            "p50_ms": round(1000 * latencies[len(latencies) // 2], 1) if latencies else None,
            "p99_ms": round(1000 * latencies[int(len(latencies) * 0.99)], 1)
            if latencies else None,
        }


def list_models_as(channel: grpc.Channel, key: str) -> grpc.StatusCode:
    stub = service_pb2_grpc.VoxgateServiceStub(channel)
    try:
        stub.ListModels(models_pb2.ListModelsRequest(), timeout=30,
                        metadata=(("authorization", f"Bearer {key}"),))
        return grpc.StatusCode.OK
    except grpc.RpcError as error:
        return error.code()
