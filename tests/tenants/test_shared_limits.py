"""Limits shared by three gateways through one real Redis, the outage policy
while Redis is down, and recovery when it returns."""

from __future__ import annotations

import concurrent.futures
import re
import subprocess
import threading
import urllib.request

import grpc
import pytest

from voxgate.v1 import models_pb2, service_pb2_grpc

from conftest import Gateway, wait_for


def config(keys, redis, policy: str = "open") -> str:
    return f"""auth: {{keys_file: {keys.path}, open_metrics: true}}
redis: {{address: "{redis.address}", on_failure: {policy}, reconnect_interval: 200ms,
        timeout: 250ms}}
"""


@pytest.fixture(scope="module")
def replicas(keys, redis):
    servers = [Gateway(config(keys, redis)) for _ in range(3)]
    yield servers
    for server in servers:
        server.stop()


def list_models(address: str, key: str) -> grpc.StatusCode:
    stub = service_pb2_grpc.VoxgateServiceStub(grpc.insecure_channel(address))
    try:
        stub.ListModels(models_pb2.ListModelsRequest(), timeout=30,
                        metadata=(("authorization", f"Bearer {key}"),))
        return grpc.StatusCode.OK
    except grpc.RpcError as error:
        return error.code()


def test_three_gateways_enforce_one_limit(replicas, keys):
    """`shared` may make 300 general requests in any minute, in total: 450
    concurrent calls spread over three replicas get exactly 300 through."""
    channels = [grpc.insecure_channel(gateway.address) for gateway in replicas]
    stubs = [service_pb2_grpc.VoxgateServiceStub(channel) for channel in channels]
    metadata = (("authorization", f"Bearer {keys.key('shared')}"),)

    def call(i: int) -> grpc.StatusCode:
        try:
            stubs[i % 3].ListModels(models_pb2.ListModelsRequest(), timeout=30,
                                    metadata=metadata)
            return grpc.StatusCode.OK
        except grpc.RpcError as error:
            return error.code()

    with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
        codes = list(pool.map(call, range(450)))
    served = codes.count(grpc.StatusCode.OK)
    refused = codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED)
    assert served + refused == 450, set(codes)
    assert abs(served - 300) <= 3, served  # within 1% (exact in practice)
    def by_replica():
        return [sum(1 for line in gateway.call_lines()
                    if line.get("tenant") == "shared" and line["code"] == "OK")
                for gateway in replicas]
    wait_for(lambda: sum(by_replica()) == served, 10, "every served call's log line")
    assert all(count > 0 for count in by_replica())  # each replica took a share


def metric(gateway, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{gateway.admin_port}/metrics",
                                timeout=10) as reply:
        text = reply.read().decode()
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else float("nan")


def logged_requests(redis, tenant: str) -> int:
    """Requests in the tenant's shared minute log, as Redis counts them."""
    out = subprocess.run(["redis-cli", "-p", str(redis.port), "ZCARD",
                          f"voxgate:{{{tenant}}}:requests:general"],
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip())


def test_leased_permits_spare_round_trips_and_unspent_ones_go_back(replicas, keys, redis):
    """Far from its limit a tenant's calls spend permits leased 32 at a time (a
    round trip per many calls, not one each). What a replica leased and did
    not spend goes back to the shared count after lease_ttl, or as the
    replica stops, so the log ends counting exactly the calls served."""
    gateway = replicas[0]
    leases_before = metric(gateway, "voxgate_limits_store_leases_total")
    for _ in range(60):
        assert list_models(gateway.address, keys.key("leased")) == grpc.StatusCode.OK
    leases = metric(gateway, "voxgate_limits_store_leases_total") - leases_before
    # At least 64 permits were leased (2 leases of 32) for 60 calls.
    assert 2 <= leases <= 10, leases
    wait_for(lambda: logged_requests(redis, "leased") == 60, 30,
             "the unspent permits to be given back after lease_ttl")

    holding = Gateway(config(keys, redis).replace("timeout: 250ms", "timeout: 250ms, "
                                                  "lease_ttl: 1m"))
    try:
        for _ in range(10):
            assert list_models(holding.address, keys.key("leased")) == grpc.StatusCode.OK
        assert logged_requests(redis, "leased") == 60 + 32  # one lease, held a minute
    finally:
        holding.stop()  # SIGTERM: the unspent 22 go back as it stops
    assert logged_requests(redis, "leased") == 70


def test_redis_killed_mid_load_applies_the_policy_and_recovers(keys, redis):
    open_gateway = Gateway(config(keys, redis, "open"))
    closed_gateway = Gateway(config(keys, redis, "closed"))
    try:
        key = keys.key("busy")  # a limit it never reaches: only the store matters
        limited = keys.key("limited")
        for gateway in (open_gateway, closed_gateway):
            assert list_models(gateway.address, key) == grpc.StatusCode.OK
            wait_for(lambda: metric(gateway, "voxgate_limits_store_up") == 1, 10,
                     "the store to be up")
        # Load on the open gateway through the outage: nothing may fail.
        stop = threading.Event()
        failures, served = [], []

        def load() -> None:
            while not stop.is_set():
                code = list_models(open_gateway.address, key)
                (served if code == grpc.StatusCode.OK else failures).append(code)

        threads = [threading.Thread(target=load) for _ in range(4)]
        for thread in threads:
            thread.start()
        wait_for(lambda: len(served) >= 20, 30, "load before the outage")
        redis.kill()
        for gateway in (open_gateway, closed_gateway):
            gateway.process.wait_for_line(r'"msg":"limits store unreachable"', 30)
            wait_for(lambda: metric(gateway, "voxgate_limits_store_up") == 0, 10,
                     "the store gauge to fall")
        during = len(served)
        wait_for(lambda: len(served) >= during + 20, 30, "load during the outage")
        assert list_models(closed_gateway.address, key) == grpc.StatusCode.UNAVAILABLE
        wait_for(lambda: "redis.on_failure is closed" in closed_gateway.process.output(), 10,
                 "the refusal's log line naming the policy")
        assert metric(open_gateway, "voxgate_limits_store_policy_decisions_total") > 0
        redis.start()  # the same port, empty
        for gateway in (open_gateway, closed_gateway):
            wait_for(lambda: gateway.process.output().count("limits store reachable") >= 2,
                     30, "reconnection after the outage")
        stop.set()
        for thread in threads:
            thread.join(30)
        assert failures == [], failures[:5]
        assert list_models(closed_gateway.address, key) == grpc.StatusCode.OK
        # Shared limits apply again: `limited` gets its 3 per minute, in total.
        codes = [list_models(gw.address, limited)
                 for gw in (open_gateway, closed_gateway, open_gateway, closed_gateway)]
        assert codes.count(grpc.StatusCode.OK) == 3
        assert codes[-1] == grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        open_gateway.stop()
        closed_gateway.stop()
