"""The synchronous client."""

from __future__ import annotations

import threading
import time
import uuid
from typing import (Any, BinaryIO, Callable, Dict, Iterable, Iterator, List, Mapping, Optional,
                    Sequence, TypeVar)

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import duration_pb2

from voxgate import _batch, _convert
from voxgate._convert import AudioSource
from voxgate._connection import auth_metadata, tls_credentials
from voxgate._retry import RetryPolicy, retry_delay, time_left
from voxgate.errors import VoxgateError, from_rpc_error
from voxgate.v1 import audio_pb2, models_pb2, service_pb2_grpc, stream_pb2, transcribe_pb2

T = TypeVar("T")
_MAX_MESSAGE = 64 << 20
# Audio bigger than this goes through TranscribeUpload in pieces, not inline.
UPLOAD_THRESHOLD_BYTES = 16 << 20
_UPLOAD_PIECE = 256 << 10


def _request_id_of(error: grpc.RpcError, sent: str) -> str:
    try:
        for key, value in error.initial_metadata() or ():
            if key == "x-request-id":
                return value
    except Exception:  # not every RpcError is a Call
        pass
    return sent


class Client:
    """A connection to a Voxgate gateway. Thread-safe; reuse one per process.

    ``timeout_s`` is each call's deadline (overridable per call); UNAVAILABLE
    is retried per ``retry`` within it, and so is RESOURCE_EXHAUSTED when the
    gateway says when to come back (a rate limit's ``retry-after``). Failures
    raise the typed exceptions of :mod:`voxgate.errors`.

    ``api_key`` (default ``$VOXGATE_API_KEY``) goes with every call as
    ``authorization: Bearer``; ``ca_file`` (the CA of the gateway's certificate),
    ``client_cert_file`` and ``client_key_file`` (mTLS), or ``tls=True`` (the
    system's roots) connect with TLS.
    """

    def __init__(self, address: str = "localhost:50051", *, timeout_s: float = 300.0,
                 retry: RetryPolicy = RetryPolicy(),
                 credentials: Optional[grpc.ChannelCredentials] = None,
                 channel: Optional[grpc.Channel] = None,
                 api_key: Optional[str] = None, ca_file: Optional[str] = None,
                 client_cert_file: Optional[str] = None,
                 client_key_file: Optional[str] = None, tls: bool = False) -> None:
        options = [("grpc.max_send_message_length", _MAX_MESSAGE),
                   ("grpc.max_receive_message_length", _MAX_MESSAGE)]
        credentials = credentials or tls_credentials(ca_file, client_cert_file,
                                                     client_key_file, tls)
        self._metadata = auth_metadata(api_key)
        if channel is None:
            channel = (grpc.secure_channel(address, credentials, options)
                       if credentials else grpc.insecure_channel(address, options))
        self._channel = channel
        self._stub = service_pb2_grpc.VoxgateServiceStub(channel)
        self._operations = operations_pb2_grpc.OperationsStub(channel)
        self._timeout_s = timeout_s
        self._retry = retry

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _unary(self, method: Callable[..., T], request: Any, timeout_s: Optional[float]) -> T:
        deadline = time.monotonic() + (timeout_s or self._timeout_s)
        request_id = uuid.uuid4().hex
        attempt = 1
        while True:
            try:
                return method(request, timeout=max(0.001, time_left(deadline)),
                              metadata=self._metadata + (("x-request-id", request_id),))
            except grpc.RpcError as error:
                delay = retry_delay(error, self._retry, attempt)
                if delay is None or time_left(deadline) <= delay:
                    raise from_rpc_error(error, _request_id_of(error, request_id)) from None
                time.sleep(delay)
                attempt += 1

    def transcribe_audio(self, audio_bytes: AudioSource, *, model: Optional[str] = None,
                         language: Optional[str] = None, prompt: Optional[str] = None,
                         temperature: Optional[float] = None,
                         response_format: str = "verbose_json",
                         word_timestamps: bool = False,
                         timeout_s: Optional[float] = None) -> Dict[str, Any]:
        """Transcribes audio (bytes or a path, any common format). Returns an
        OpenAI verbose_json-shaped dict: text, language, duration, segments
        (plus srt/vtt when asked by response_format). Audio over
        ``UPLOAD_THRESHOLD_BYTES`` (16 MiB) is streamed with
        :meth:`transcribe_upload` instead of sent in one message."""
        size = _convert.audio_size(audio_bytes)
        if size is not None and size > UPLOAD_THRESHOLD_BYTES:
            return self.transcribe_upload(
                audio_bytes, model=model, language=language, prompt=prompt,
                temperature=temperature, response_format=response_format,
                word_timestamps=word_timestamps, timeout_s=timeout_s)
        request = transcribe_pb2.TranscribeRequest(
            audio=audio_pb2.AudioInput(content=_convert.read_audio(audio_bytes)),
            config=_convert.recognition_config(model, language, prompt, temperature,
                                               response_format, word_timestamps))
        return _convert.transcription_dict(
            self._unary(self._stub.Transcribe, request, timeout_s))

    def transcribe_url(self, uri: str, *, model: Optional[str] = None,
                       language: Optional[str] = None, prompt: Optional[str] = None,
                       temperature: Optional[float] = None,
                       response_format: str = "verbose_json",
                       word_timestamps: bool = False,
                       timeout_s: Optional[float] = None) -> Dict[str, Any]:
        """Transcribes the audio at ``uri`` (https://, or http:// where the
        gateway allows it), which the gateway fetches itself. Returns what
        :meth:`transcribe_audio` returns."""
        request = transcribe_pb2.TranscribeRequest(
            audio=audio_pb2.AudioInput(uri=uri),
            config=_convert.recognition_config(model, language, prompt, temperature,
                                               response_format, word_timestamps))
        return _convert.transcription_dict(
            self._unary(self._stub.Transcribe, request, timeout_s))

    def transcribe_upload(self, source: Any, *, model: Optional[str] = None,
                          language: Optional[str] = None, prompt: Optional[str] = None,
                          temperature: Optional[float] = None,
                          response_format: str = "verbose_json",
                          word_timestamps: bool = False,
                          on_progress: Optional[Callable[[Dict[str, Any]], None]] = None,
                          timeout_s: Optional[float] = None) -> Dict[str, Any]:
        """Transcribes a file of any size up to the gateway's max_audio_bytes
        (see list_models) by streaming it in pieces (TranscribeUpload): the
        gateway decodes and transcribes while the upload goes on, and reads no
        faster than it transcribes. ``source`` is bytes, a path or a binary
        file object. ``on_progress`` gets dicts with bytes_sent, bytes_total
        (None when unknown), and, as the gateway reports them,
        bytes_received, audio_decoded, audio_transcribed (seconds),
        chunks_cut and chunks_done; it may be called from gRPC's thread.
        Returns what :meth:`transcribe_audio` returns. Not retried: a failed
        upload starts again from the beginning. Without ``timeout_s`` the
        gateway's stream deadline applies (60 min by default), not the
        client's ``timeout_s``: hours of audio take a while."""
        config = transcribe_pb2.TranscribeUploadConfig(
            config=_convert.recognition_config(model, language, prompt, temperature,
                                               response_format, word_timestamps))
        file, total, owned = _convert.open_upload(source)
        config.total_bytes = total or 0
        progress = _UploadProgress(total, on_progress)
        request_id = uuid.uuid4().hex
        call = self._stub.TranscribeUpload(
            _upload_requests(config, file, progress), timeout=timeout_s,
            metadata=self._metadata + (("x-request-id", request_id),))
        result = None
        try:
            for response in call:
                if response.HasField("progress"):
                    progress.reported(_convert.upload_progress_dict(response.progress))
                elif response.HasField("result"):
                    result = response.result
        except grpc.RpcError as error:
            raise from_rpc_error(error, _request_id_of(error, request_id)) from None
        finally:
            call.cancel()
            if owned:
                file.close()
        return upload_result(result, request_id)

    def start_batch(self, items: Sequence[Any], *, ids: Optional[Sequence[str]] = None,
                    model: Optional[str] = None, language: Optional[str] = None,
                    prompt: Optional[str] = None, temperature: Optional[float] = None,
                    response_format: str = "verbose_json", word_timestamps: bool = False,
                    timeout_s: Optional[float] = None) -> operations_pb2.Operation:
        """Submits a BatchTranscribe and returns its google.longrunning
        Operation at once (``operation.name`` names it to get_operation,
        wait_operation, cancel_operation and delete_operation). Items are
        bytes, paths, or https:// URLs the gateway fetches; ``ids`` default
        to the URL, the path or the position."""
        request = _batch.batch_request(
            items, ids, _convert.recognition_config(model, language, prompt, temperature,
                                                    response_format, word_timestamps))
        return self._unary(self._stub.BatchTranscribe, request, timeout_s)

    def get_operation(self, name: str, *,
                      timeout_s: Optional[float] = None) -> operations_pb2.Operation:
        return self._unary(self._operations.GetOperation,
                           operations_pb2.GetOperationRequest(name=name), timeout_s)

    def wait_operation(self, name: str, wait_s: float = 10.0, *,
                       timeout_s: Optional[float] = None) -> operations_pb2.Operation:
        """The operation once done, or its state after ``wait_s``."""
        request = operations_pb2.WaitOperationRequest(
            name=name, timeout=duration_pb2.Duration(seconds=int(wait_s),
                                                     nanos=int(wait_s % 1 * 1e9)))
        return self._unary(self._operations.WaitOperation, request,
                           timeout_s or wait_s + self._timeout_s)

    def cancel_operation(self, name: str, *, timeout_s: Optional[float] = None) -> None:
        self._unary(self._operations.CancelOperation,
                    operations_pb2.CancelOperationRequest(name=name), timeout_s)

    def delete_operation(self, name: str, *, timeout_s: Optional[float] = None) -> None:
        self._unary(self._operations.DeleteOperation,
                    operations_pb2.DeleteOperationRequest(name=name), timeout_s)

    def list_operations(self, *, filter: str = "", page_size: int = 0,
                        timeout_s: Optional[float] = None) -> List[operations_pb2.Operation]:
        """This caller's operations, newest first (every page)."""
        operations: List[operations_pb2.Operation] = []
        token = ""
        while True:
            page = self._unary(self._operations.ListOperations,
                               operations_pb2.ListOperationsRequest(
                                   name="operations", filter=filter, page_size=page_size,
                                   page_token=token), timeout_s)
            operations.extend(page.operations)
            token = page.next_page_token
            if not token:
                return operations

    def transcribe_batch(self, items: Sequence[Any], *, ids: Optional[Sequence[str]] = None,
                         on_progress: Optional[Callable[[Dict[str, Any]], None]] = None,
                         poll_s: float = 5.0, timeout_s: Optional[float] = None,
                         **recognition: Any) -> List[Dict[str, Any]]:
        """Transcribes many files as one BatchTranscribe operation and waits
        for it. Returns one dict per item in input order: ``id``, ``result``
        (what transcribe_audio returns) or None, and ``error`` (a
        VoxgateError) or None: one bad file never fails the others.
        ``on_progress`` gets the operation's progress (see
        ``voxgate._batch.progress_dict``) whenever it changes. Without
        ``timeout_s`` it waits as long as the batch takes; on a timeout or an
        interrupt the operation is cancelled. ``recognition`` takes
        transcribe_audio's options (model, language, ...)."""
        operation = self.start_batch(items, ids=ids, **recognition)
        report = _batch.ProgressReporter(on_progress)
        waits = _batch.Waits(poll_s, timeout_s)
        try:
            while not operation.done:
                report(operation)
                wait_s = waits.next()
                operation = self.wait_operation(operation.name, wait_s)
        except BaseException:
            if not operation.done:
                try:
                    self.cancel_operation(operation.name, timeout_s=10)
                except VoxgateError:
                    pass  # the error that brought us here matters more
            raise
        report(operation)
        return _batch.results_of(operation)

    def analyze_audio(self, audio_bytes: AudioSource, instruction: str, *,
                      mode: Optional[str] = None, model: Optional[str] = None,
                      system_prompt: Optional[str] = None,
                      timeout_s: Optional[float] = None, **params: Any) -> Dict[str, Any]:
        """Asks ``instruction`` about the audio: ``mode="direct"`` sends the
        audio to a multimodal model, ``"cascade"`` transcribes it and asks the
        text model; by default the server picks (DIRECT when an audio chat
        model is configured). ``history`` (earlier OpenAI messages), ``tools``,
        ``tool_choice`` and ``include_transcript`` are taken too. Returns
        answer, transcript, finish_reason, usage, tool_calls, mode and the
        seconds each stage took."""
        request = _convert.analyze_request(_convert.read_audio(audio_bytes), instruction,
                                           mode, model, system_prompt, params)
        return _convert.analysis_dict(self._unary(self._stub.Analyze, request, timeout_s))

    def chat_completion(self, messages: Iterable[Mapping[str, Any]], *,
                        timeout_s: Optional[float] = None, **params: Any) -> Dict[str, Any]:
        """OpenAI chat.completions: messages and parameters as OpenAI takes
        them; returns a chat.completion dict."""
        request = _convert.chat_request(messages, params)
        return _convert.chat_completion_dict(self._unary(self._stub.Chat, request, timeout_s))

    def chat_stream(self, messages: Iterable[Mapping[str, Any]], *,
                    timeout_s: Optional[float] = None, **params: Any) -> "ChatStream":
        """Iterates over the answer's text deltas as the model produces them;
        once done, the stream's finish_reason, usage, model and tool_calls say
        how it ended. Not retried once started (part of the answer may have
        been seen)."""
        request = _convert.chat_request(messages, params)
        return ChatStream(self._stub.ChatStream(request, timeout=timeout_s or self._timeout_s,
                                   metadata=self._metadata))

    def stream_transcribe(self, source: Any, *, sample_rate: int = 16000,
                          realtime: bool = True, interim_results: bool = True,
                          model: Optional[str] = None, language: Optional[str] = None,
                          chunk_ms: int = 100,
                          timeout_s: Optional[float] = None) -> Iterator[Dict[str, Any]]:
        """Streams audio and yields results as they come: dicts with text,
        is_final, utterance_index, start, end (seconds in the stream).

        ``source`` is a 16-bit WAV (bytes or path; sent at real-time pace when
        ``realtime``) or an iterable of raw 16-bit mono PCM chunks at
        ``sample_rate`` (sent as they come)."""
        if isinstance(source, (bytes, bytearray, str)) or hasattr(source, "__fspath__"):
            rate, pcm = _convert.wav_pcm(_convert.read_audio(source))
            chunks = _paced_chunks(pcm, rate, chunk_ms, realtime)
        else:
            rate, chunks = sample_rate, iter(source)
        requests = _stream_requests(_convert.stream_config(rate, interim_results, model, language),
                                    chunks)
        call = self._stub.StreamTranscribe(requests, timeout=timeout_s or self._timeout_s,
                                           metadata=self._metadata)
        try:
            for response in call:
                result = _convert.stream_result_dict(response)
                if result is not None:
                    yield result
        except grpc.RpcError as error:
            raise from_rpc_error(error, _request_id_of(error, "")) from None
        finally:
            call.cancel()

    def list_models(self, *, timeout_s: Optional[float] = None) -> List[Dict[str, Any]]:
        """The configured models with pool, capabilities and availability."""
        return _convert.model_dicts(
            self._unary(self._stub.ListModels, models_pb2.ListModelsRequest(), timeout_s))


class ChatStream(_convert.StreamEnd):
    """A streamed chat answer: iterate over it for the text deltas. After the
    last one, ``finish_reason``, ``usage`` (OpenAI's shape), ``model`` and
    ``tool_calls`` (assembled from their deltas) say how it ended. Leaving the
    loop early cancels the call, and the gateway aborts the upstream request."""

    def __init__(self, call: Any) -> None:
        self._call = call
        self._state = _convert.StreamState()

    def __iter__(self) -> Iterator[str]:
        try:
            for chunk in self._call:
                delta = self._state.add(chunk)
                if delta:
                    yield delta
        except grpc.RpcError as error:
            raise from_rpc_error(error, _request_id_of(error, "")) from None
        finally:
            self._call.cancel()


def _paced_chunks(pcm: bytes, rate: int, chunk_ms: int, realtime: bool) -> Iterator[bytes]:
    size = rate * 2 * chunk_ms // 1000
    start = time.monotonic()
    for offset in range(0, len(pcm), size):
        if realtime:
            due = start + offset / (rate * 2)
            time.sleep(max(0.0, due - time.monotonic()))
        yield pcm[offset:offset + size]


def upload_result(result: Optional[transcribe_pb2.TranscribeResponse],
                  request_id: str) -> Dict[str, Any]:
    """An upload's answer: its result, which must have come."""
    if result is None:
        raise VoxgateError("the upload ended without a result", grpc.StatusCode.INTERNAL,
                           request_id=request_id)
    return _convert.transcription_dict(result)


class _UploadProgress:
    """What an upload has sent, and what the gateway last reported."""

    def __init__(self, total: Optional[int],
                 callback: Optional[Callable[[Dict[str, Any]], None]]) -> None:
        self._lock = threading.Lock()
        self._state: Dict[str, Any] = {"bytes_sent": 0, "bytes_total": total}
        self._callback = callback

    def sent(self, count: int) -> None:
        with self._lock:
            self._state["bytes_sent"] += count
        self._report()

    def reported(self, server: Dict[str, Any]) -> None:
        with self._lock:
            self._state.update(server)
        self._report()

    def _report(self) -> None:
        if self._callback is not None:
            with self._lock:
                state = dict(self._state)
            self._callback(state)


def _upload_requests(config: transcribe_pb2.TranscribeUploadConfig, file: BinaryIO,
                     progress: _UploadProgress) -> Iterator[transcribe_pb2.TranscribeUploadRequest]:
    yield transcribe_pb2.TranscribeUploadRequest(config=config)
    while True:
        piece = file.read(_UPLOAD_PIECE)
        if not piece:
            return
        yield transcribe_pb2.TranscribeUploadRequest(audio_content=piece)
        progress.sent(len(piece))


def _stream_requests(config: stream_pb2.StreamTranscribeRequest,
                     chunks: Iterator[bytes]) -> Iterator[stream_pb2.StreamTranscribeRequest]:
    yield config
    for chunk in chunks:
        # The gateway takes at most 64 KiB per message.
        for offset in range(0, len(chunk), 65536):
            yield stream_pb2.StreamTranscribeRequest(audio=bytes(chunk[offset:offset + 65536]))
