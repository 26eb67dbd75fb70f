"""AudioInput.uri: audio fetched from a local HTTP server that the test's
config allows explicitly, and what the default config refuses: http://,
loopback, the cloud metadata address, redirects into private ranges,
redirect loops, oversized and missing files. Errors name the host, never the
URL's credentials or query."""

from __future__ import annotations

import grpc
import pytest

import voxgate

from conftest import CHUNK_ANSWER_TEXT, Gateway
from voxgate.v1 import audio_pb2, service_pb2_grpc, transcribe_pb2


@pytest.fixture(scope="module")
def fetching_gateway(fake, work):
    """Allows http:// and the test server's host, 127.0.0.1, by name."""
    spool = work / "spool-fetch"
    spool.mkdir()
    server = Gateway(fake, spool, fetch='{allow_http: true, allowed_hosts: ["127.0.0.1"]}')
    yield server
    server.stop()


def transcribe(gateway, uri: str, content: bytes = b""):
    with grpc.insecure_channel(gateway.address) as channel:
        stub = service_pb2_grpc.VoxgateServiceStub(channel)
        return stub.Transcribe(transcribe_pb2.TranscribeRequest(
            audio=audio_pb2.AudioInput(uri=uri, content=content)), timeout=60)


def refused(gateway, uri: str, code=grpc.StatusCode.INVALID_ARGUMENT) -> str:
    with pytest.raises(grpc.RpcError) as failure:
        transcribe(gateway, uri)
    assert failure.value.code() == code, failure.value.details()
    return failure.value.details()


def test_audio_is_fetched_from_an_allowed_host(fetching_gateway, audio_server):
    for path in ("/speech.mp3", "/relative"):
        response = transcribe(fetching_gateway, f"http://{audio_server}{path}")
        assert response.audio_duration.seconds == pytest.approx(60, abs=1)
        assert CHUNK_ANSWER_TEXT in response.text
    with voxgate.Client(fetching_gateway.address) as client:
        result = client.transcribe_url(f"http://{audio_server}/speech.mp3")
    assert result["duration"] == pytest.approx(60, abs=1)


def test_the_default_config_refuses_http_loopback_and_metadata(gateway, audio_server):
    port = audio_server.split(":")[1]
    assert "http:// is not fetched" in refused(gateway, f"http://{audio_server}/speech.mp3")
    # https:// to loopback is refused before any connection is made.
    assert "loopback" in refused(gateway, f"https://{audio_server}/speech.mp3")
    assert "loopback" in refused(gateway, f"https://localhost:{port}/speech.mp3")
    details = refused(gateway, "https://169.254.169.254/latest/meta-data/")
    assert "host 169.254.169.254" in details and "link-local" in details
    assert "audio.fetch.allowed_hosts" in details
    assert "not fetched" in refused(gateway, "file:///etc/passwd")


def test_redirects_are_checked_like_the_first_url(fetching_gateway, audio_server):
    # localhost is not an allowed name, though 127.0.0.1 is.
    assert "loopback" in refused(fetching_gateway, f"http://{audio_server}/to-localhost")
    assert "private (10.0.0.0/8)" in refused(fetching_gateway,
                                              f"http://{audio_server}/to-private")
    assert "link-local" in refused(fetching_gateway, f"http://{audio_server}/to-metadata")
    assert "more than 3 redirects" in refused(fetching_gateway, f"http://{audio_server}/loop")


def test_limits_and_missing_files_have_clear_errors(fetching_gateway, audio_server):
    details = refused(fetching_gateway, f"http://{audio_server}/huge")
    assert "audio.max_audio_bytes" in details
    details = refused(fetching_gateway, f"http://{audio_server}/nothing-here",
                      code=grpc.StatusCode.NOT_FOUND)
    assert details == "audio.uri: host 127.0.0.1 answered HTTP 404"
    with pytest.raises(grpc.RpcError) as both:
        transcribe(fetching_gateway, f"http://{audio_server}/speech.mp3", content=b"RIFF")
    assert "set content or uri, not both" in both.value.details()


def test_credentials_and_queries_never_reach_errors_or_logs(fetching_gateway, audio_server):
    details = refused(fetching_gateway,
                      f"http://alice:s3cret-pass@{audio_server}/missing?X-Amz-Signature=t0p-s1gn",
                      code=grpc.StatusCode.NOT_FOUND)
    for secret in ("s3cret-pass", "t0p-s1gn", "alice", "/missing"):
        assert secret not in details
        assert secret not in fetching_gateway.process.output()


def test_analyze_takes_content_only(fetching_gateway, audio_server):
    with grpc.insecure_channel(fetching_gateway.address) as channel:
        stub = service_pb2_grpc.VoxgateServiceStub(channel)
        with pytest.raises(grpc.RpcError) as failure:
            stub.Analyze(transcribe_pb2.AnalyzeRequest(
                audio=audio_pb2.AudioInput(uri=f"http://{audio_server}/speech.mp3"),
                instruction="summarise"), timeout=30)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "audio.uri" in failure.value.details()
