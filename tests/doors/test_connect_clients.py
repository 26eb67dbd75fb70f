"""Connect's own clients and the curl examples of docs/http.md against the
Connect door: the Node client (@connectrpc/connect-node, with code from
protoc-gen-es) calls Analyze (CASCADE) with audio and follows a batch through
google.longrunning.Operations; every curl example runs as written."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import REPO, wait_for

HERE = pathlib.Path(__file__).resolve().parent
NODE_PROJECT = HERE / "connect_node"
TOOLS = pathlib.Path(os.environ.get("VOXGATE_TOOLS",
                                    pathlib.Path.home() / ".cache/voxgate-tools"))
PROTOS = ["voxgate/v1/audio.proto", "voxgate/v1/batch.proto", "voxgate/v1/chat.proto",
          "voxgate/v1/models.proto", "voxgate/v1/service.proto", "voxgate/v1/stream.proto",
          "voxgate/v1/transcribe.proto", "google/longrunning/operations.proto",
          "google/api/annotations.proto", "google/api/client.proto",
          "google/api/field_behavior.proto", "google/api/http.proto",
          "google/api/launch_stage.proto", "google/rpc/status.proto"]


@pytest.fixture(scope="session")
def node_client() -> pathlib.Path:
    """The Node project, installed once per package-lock.json into the tools
    cache (npm ci), with the stubs protoc-gen-es makes from proto/ now."""
    lock = (NODE_PROJECT / "package-lock.json").read_bytes()
    project = TOOLS / f"connect-node-{hashlib.sha256(lock).hexdigest()[:16]}"
    if not (project / "node_modules/.installed").exists():
        project.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(NODE_PROJECT / name, project / name)
        subprocess.run(["npm", "ci", "--silent", "--no-audit", "--no-fund"], cwd=project,
                       check=True, timeout=600)
        (project / "node_modules/.installed").touch()
    shutil.rmtree(project / "gen", ignore_errors=True)
    (project / "gen").mkdir()
    subprocess.run(["protoc", f"-I{REPO / 'proto'}", "-I/usr/include",
                    f"--plugin=protoc-gen-es={project / 'node_modules/.bin/protoc-gen-es'}",
                    f"--es_out={project / 'gen'}", "--es_opt=target=js,import_extension=js",
                    *(str(REPO / "proto" / name) for name in PROTOS)], check=True)
    shutil.copy(NODE_PROJECT / "analyze_and_operations.mjs", project)
    return project


def test_node_client_analyzes_audio_and_follows_a_batch(gateway, node_client, short_wav):
    with tempfile.NamedTemporaryFile(suffix=".wav") as audio:
        audio.write(short_wav)
        audio.flush()
        run = subprocess.run(["node", "analyze_and_operations.mjs", gateway.url, audio.name],
                             cwd=node_client, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["mode"] == "CASCADE"
    # The fake whisper describes the audio it got; the fake text model echoes
    # the last user message, which holds the instruction and the transcript.
    assert "16000 Hz" in result["transcript"], result
    assert result["answer"].startswith("echo:") and "Summarise this." in result["answer"]
    assert result["operation"].startswith("operations/batch-")
    assert result["done"] is True
    assert [file["id"] for file in result["files"]] == ["first"]
    assert "16000 Hz" in result["files"][0]["text"]
    assert result["missing_code"] == 5  # Code.NotFound
    wait_for(lambda: "OK" in gateway.codes("GetOperation"), 20, "GetOperation's log line")
    assert gateway.codes("Analyze")[-1] == "OK"


def curl_examples() -> str:
    text = (REPO / "docs/http.md").read_text()
    marker = text.index("<!-- connect curl examples:")
    return re.search(r"```sh\n(.*?)```", text[marker:], re.S).group(1)


def test_every_curl_example_in_docs_runs_as_written(gateway, short_wav, tmp_path):
    (tmp_path / "meeting.wav").write_bytes(short_wav)
    script = curl_examples().replace("localhost:8080", f"127.0.0.1:{gateway.http_port}")
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert '"models"' in out and '"id":"llama3"' in out
    assert '"content":"echo: hi"' in out                 # Chat
    assert '"delta":"echo: hi"' in out or '"delta"' in out  # ChatStream's chunks
    assert "16000 Hz" in out                              # Transcribe and Analyze
    assert '"done":true' in out                           # the batch
    assert '"code":"invalid_argument"' in out             # the error example
    for method in ("ListModels", "Chat", "ChatStream", "Transcribe", "Analyze",
                   "BatchTranscribe", "WaitOperation", "GetOperation", "ListOperations",
                   "CancelOperation", "DeleteOperation"):
        # The log is read from the gateway's stderr as it comes: wait for it.
        wait_for(lambda: gateway.codes(method), 20, f"{method}'s log line")


def test_a_browser_preflight_allows_grpc_web_and_connect_headers(gateway):
    """A page calling gRPC-Web or Connect from the gateway's own origin: the
    preflight allows their headers, and the answer exposes grpc-status."""
    import urllib3
    origin = f"http://127.0.0.1:{gateway.http_port}"
    asked = "content-type,x-grpc-web,x-user-agent,grpc-timeout,connect-protocol-version"
    preflight = urllib3.PoolManager().request(
        "OPTIONS", f"{gateway.url}/voxgate.v1.VoxgateService/Chat", retries=False,
        headers={"origin": origin, "host": f"127.0.0.1:{gateway.http_port}",
                 "access-control-request-method": "POST",
                 "access-control-request-headers": asked})
    assert preflight.status == 204
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = preflight.headers["access-control-allow-headers"].lower()
    for header in asked.split(","):
        assert header in allowed
    answer = urllib3.PoolManager().request(
        "POST", f"{gateway.url}/voxgate.v1.VoxgateService/ListModels", body=b"\0\0\0\0\0",
        retries=False, headers={"origin": origin, "content-type": "application/grpc-web+proto",
                                "x-grpc-web": "1"})
    assert answer.status == 200
    assert answer.headers["access-control-allow-origin"] == origin
    assert "grpc-status" in answer.headers["access-control-expose-headers"]
    assert answer.data[-1:] != b"" and b"grpc-status:0" in answer.data
