"""BatchTranscribe requests and the google.longrunning operations they return,
shared by the sync and async clients."""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import grpc
from google.longrunning import operations_pb2

from voxgate import _convert
from voxgate.errors import UpstreamTimeoutError, VoxgateError, error_for_code
from voxgate.v1 import audio_pb2, batch_pb2

_STATES = {
    batch_pb2.BATCH_FILE_STATE_PENDING: "pending",
    batch_pb2.BATCH_FILE_STATE_RUNNING: "running",
    batch_pb2.BATCH_FILE_STATE_SUCCEEDED: "succeeded",
    batch_pb2.BATCH_FILE_STATE_FAILED: "failed",
}


def _is_url(item: Any) -> bool:
    return isinstance(item, str) and item.startswith(("https://", "http://"))


def item_id(item: Any, index: int) -> str:
    """A file's id: its URL or path, else its position."""
    if _is_url(item):
        return item[:128]
    if isinstance(item, str) or hasattr(item, "__fspath__"):
        return os.fspath(item)[-128:]
    return str(index)


def batch_request(items: Sequence[Any], ids: Optional[Sequence[str]],
                  config: audio_pb2.RecognitionConfig) -> batch_pb2.BatchTranscribeRequest:
    """Items are bytes, paths, or https:// (or http://) URLs the gateway
    fetches itself."""
    if ids is not None and len(ids) != len(items):
        raise ValueError(f"ids: {len(ids)} ids for {len(items)} items")
    request = batch_pb2.BatchTranscribeRequest(config=config)
    for index, item in enumerate(items):
        audio = (audio_pb2.AudioInput(uri=item) if _is_url(item)
                 else audio_pb2.AudioInput(content=_convert.read_audio(item)))
        request.files.add(id=ids[index] if ids is not None else item_id(item, index),
                          audio=audio)
    return request


def metadata_of(operation: operations_pb2.Operation) -> batch_pb2.BatchTranscribeMetadata:
    metadata = batch_pb2.BatchTranscribeMetadata()
    operation.metadata.Unpack(metadata)
    return metadata


def progress_dict(operation: operations_pb2.Operation) -> Dict[str, Any]:
    """files_total, files_done, files_failed, audio_seconds_done, done, and
    files: [{id, state ("pending", "running", "succeeded", "failed"),
    audio_seconds, error}] in request order."""
    metadata = metadata_of(operation)
    return {
        "name": operation.name,
        "done": operation.done,
        "files_total": metadata.files_total,
        "files_done": metadata.files_done,
        "files_failed": metadata.files_failed,
        "audio_seconds_done": metadata.audio_seconds_done,
        "files": [{
            "id": file.id,
            "state": _STATES.get(file.state, "unknown"),
            "audio_seconds": file.audio_seconds,
            "error": file.error.message if file.HasField("error") else None,
        } for file in metadata.files],
    }


def _error(status: Any, request_id: Optional[str] = None) -> VoxgateError:
    code = next((c for c in grpc.StatusCode if c.value[0] == status.code),
                grpc.StatusCode.UNKNOWN)
    return error_for_code(code, status.message, request_id)


def results_of(operation: operations_pb2.Operation) -> List[Dict[str, Any]]:
    """One dict per file in request order: id, result (what transcribe_audio
    returns) or None, and error (a VoxgateError) or None. An operation that
    ended early (cancelled, or its replica stopped) gives the results of the
    files finished by then and errors for the rest."""
    response = batch_pb2.BatchTranscribeResponse()
    if operation.HasField("response"):
        operation.response.Unpack(response)
    else:
        for detail in operation.error.details:
            if detail.Unpack(response):
                break
    results = []
    by_index = list(response.results)
    for index, file in enumerate(metadata_of(operation).files):
        entry = by_index[index] if index < len(by_index) else None
        if entry is not None and entry.HasField("result"):
            results.append({"id": file.id, "result": _convert.transcription_dict(entry.result),
                            "error": None})
        elif entry is not None and entry.HasField("error"):
            results.append({"id": file.id, "result": None, "error": _error(entry.error)})
        else:
            results.append({"id": file.id, "result": None,
                            "error": _error(operation.error) if operation.HasField("error")
                            else VoxgateError("no result", grpc.StatusCode.UNKNOWN)})
    return results


class Waits:
    """How long each WaitOperation of a batch waits: `poll_s`, or what is left
    of `timeout_s`; past it, UpstreamTimeoutError."""

    def __init__(self, poll_s: float, timeout_s: Optional[float]) -> None:
        self._poll_s, self._timeout_s = poll_s, timeout_s
        self._deadline = None if timeout_s is None else time.monotonic() + timeout_s

    def next(self) -> float:
        if self._deadline is None:
            return self._poll_s
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise UpstreamTimeoutError(
                f"the batch did not finish within timeout_s={self._timeout_s}",
                grpc.StatusCode.DEADLINE_EXCEEDED)
        return min(self._poll_s, left)


class ProgressReporter:
    """Calls ``on_progress`` with progress_dict when the operation changed."""

    def __init__(self, on_progress: Optional[Callable[[Dict[str, Any]], None]]) -> None:
        self._on_progress = on_progress
        self._last: Optional[bytes] = None

    def __call__(self, operation: operations_pb2.Operation) -> None:
        if self._on_progress is None:
            return
        seen = operation.metadata.value + bytes([operation.done])
        if seen != self._last:
            self._last = seen
            self._on_progress(progress_dict(operation))
