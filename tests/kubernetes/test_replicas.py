"""The multi-replica proof: three gateways as one service through a rolling
restart and a kill -9, behind HAProxy and with client-side round_robin,
sharing one Redis for limits. Each phase prints its figures (calls, failures,
p99 during the roll) as a `replicas:` JSON line; bench/README.md quotes them."""

from __future__ import annotations

import json
import subprocess
import time

import grpc
import pytest

from conftest import REPO
from replicas import (Cluster, HAProxy, MixedLoad, list_models_as, proxy_channel,
                      round_robin_channel)
from process_harness import wait_for

LOAD_SECONDS = 60


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> bytes:
    work = tmp_path_factory.mktemp("speech")
    spoken, joined = work / "spoken.wav", work / "speech.wav"
    subprocess.run(["flite", "-voice", "slt", "-t", "Please call Stella.", "-o",
                    str(spoken)], check=True)
    subprocess.run(["sox", str(spoken), "-r", "16000", str(joined), "pad", "0.3", "0.8"],
                   check=True)
    return joined.read_bytes()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    running = Cluster(tmp_path_factory.mktemp("cluster"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def haproxy(cluster, tmp_path_factory):
    proxy = HAProxy(cluster, tmp_path_factory.mktemp("haproxy"))
    yield proxy
    proxy.stop()


def report(phase: str, figures: dict) -> None:
    print("replicas: " + json.dumps({"phase": phase, **figures}), flush=True)


def test_rolling_restart_fails_no_call_behind_haproxy_or_with_round_robin(
        cluster, haproxy, speech):
    """One roll of the three replicas under two loads at once: one through
    HAProxy, one balancing round_robin itself (with health checking). Neither
    client retries."""
    key = cluster.keys["load"]["key"]
    loads = {
        "haproxy": MixedLoad(proxy_channel(haproxy.port, retry=False), key, speech,
                             workers=5).start(),
        "round_robin": MixedLoad(round_robin_channel(cluster.addresses(), retry=False),
                                 key, speech, workers=5).start(),
    }
    began = time.monotonic()
    wait_for(lambda: all(load.summary()["calls"] >= 10 for load in loads.values()), 60,
             "the loads to get going")
    served_before = [cluster.calls_served(i) for i in range(3)]
    roll_start = time.monotonic()
    exit_codes = [cluster.roll(index) for index in range(3)]
    roll_end = time.monotonic()
    # The rest of the minute at least, with every replica back.
    wait_for(lambda: time.monotonic() - began >= LOAD_SECONDS, LOAD_SECONDS + 10,
             "the load's minute")
    for load in loads.values():
        load.stop()
    for phase, load in loads.items():
        report(phase, {"seconds": round(time.monotonic() - began, 1),
                       "roll_seconds": round(roll_end - roll_start, 1),
                       "total": load.summary(),
                       "during_roll": load.summary(roll_start, roll_end)})
    assert exit_codes == [0, 0, 0]  # each drained and exited cleanly
    assert all(count > 0 for count in served_before), served_before
    for phase, load in loads.items():
        total, during = load.summary(), load.summary(roll_start, roll_end)
        assert total["failed"] == 0, (phase, total["failures"])
        assert total["methods"] == ["chat", "chat_stream", "stream_transcribe",
                                    "transcribe"], phase
        assert during["calls"] > 0, phase
    # The replacements serve too.
    wait_for(lambda: all(cluster.calls_served(i) > 0 for i in range(3)), 60,
             "every replacement to serve")


def test_kill_9_fails_only_that_replicas_calls_and_retries_recover(cluster, speech):
    """Calls in flight on the killed replica fail UNAVAILABLE for a client
    without retries; the retry policy's client sees none fail; both stop
    sending there (health checking) and keep being served."""
    retrying = MixedLoad(round_robin_channel(cluster.addresses(), retry=True),
                         cluster.keys["load"]["key"], speech, workers=4).start()
    plain = MixedLoad(round_robin_channel(cluster.addresses(), retry=False),
                      cluster.keys["load"]["key"], speech, workers=4).start()
    wait_for(lambda: plain.summary()["calls"] >= 20, 60, "the load to get going")
    cluster.kill(0)
    killed_at = time.monotonic()
    wait_for(lambda: plain.summary(since=killed_at + 2)["calls"] >= 20, 90,
             "calls after the kill")
    retrying.stop()
    plain.stop()
    cluster.start(0)
    report("kill_9", {"retrying": retrying.summary(), "plain": plain.summary()})
    # The retry policy saves every unary call and every call started after the
    # kill; a stream already under way on the killed replica (its messages
    # committed) is the one kind no transparent retry can replay.
    retried = retrying.summary()["failures"]
    cut = [f for f in retried if f["method"] in ("stream_transcribe", "chat_stream")
           and f["start"] < killed_at and f["code"] == "UNAVAILABLE"]
    assert [f for f in retried if f not in cut] == [], retried
    failures = plain.summary()["failures"]
    assert {f["code"] for f in failures} <= {"UNAVAILABLE"}, failures
    # A streaming call cut mid-way is the only kind a transparent retry cannot
    # save; anything started after the channel saw the replica gone succeeds.
    late = plain.summary(since=killed_at + 2)
    assert late["failed"] == 0, late["failures"]


def test_the_rate_limit_holds_across_replicas(cluster):
    """30 requests a minute for the tenant, counted in the one Redis: 45
    calls spread round_robin over three replicas get exactly 30 served."""
    channel = round_robin_channel(cluster.addresses(), retry=False)
    wait_for(lambda: list_models_as(channel, cluster.keys["load"]["key"]) ==
             grpc.StatusCode.OK, 30, "the channel to connect")
    codes = [list_models_as(channel, cluster.keys["limited"]["key"]) for _ in range(45)]
    assert codes.count(grpc.StatusCode.OK) == 30, codes
    assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) == 15, codes
