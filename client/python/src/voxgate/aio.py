"""The asyncio client: the same calls as :class:`voxgate.Client`, awaitable."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import (Any, AsyncIterator, Callable, Dict, Iterable, List, Mapping, Optional,
                    Sequence)

import grpc
import grpc.aio
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import duration_pb2

from voxgate import _batch, _convert
from voxgate._convert import AudioSource
from voxgate._connection import auth_metadata, tls_credentials
from voxgate._retry import RetryPolicy, retry_delay, time_left
from voxgate.client import _UPLOAD_PIECE, UPLOAD_THRESHOLD_BYTES, upload_result
from voxgate.errors import VoxgateError, from_rpc_error
from voxgate.v1 import audio_pb2, models_pb2, service_pb2_grpc, stream_pb2, transcribe_pb2

_MAX_MESSAGE = 64 << 20


async def _request_id_of(error: grpc.RpcError, sent: str) -> str:
    try:
        metadata = error.initial_metadata()
        if asyncio.iscoroutine(metadata):
            metadata = await metadata
        for key, value in metadata or ():
            if key == "x-request-id":
                return value
    except Exception:
        pass
    return sent


class AsyncClient:
    """An asyncio connection to a Voxgate gateway; use one per event loop.

    ``async with AsyncClient(address) as client: ...``
    """

    def __init__(self, address: str = "localhost:50051", *, timeout_s: float = 300.0,
                 retry: RetryPolicy = RetryPolicy(),
                 credentials: Optional[grpc.ChannelCredentials] = None,
                 api_key: Optional[str] = None, ca_file: Optional[str] = None,
                 client_cert_file: Optional[str] = None,
                 client_key_file: Optional[str] = None, tls: bool = False) -> None:
        options = [("grpc.max_send_message_length", _MAX_MESSAGE),
                   ("grpc.max_receive_message_length", _MAX_MESSAGE)]
        credentials = credentials or tls_credentials(ca_file, client_cert_file,
                                                     client_key_file, tls)
        self._metadata = auth_metadata(api_key)
        self._channel = (grpc.aio.secure_channel(address, credentials, options)
                         if credentials else grpc.aio.insecure_channel(address, options))
        self._stub = service_pb2_grpc.VoxgateServiceStub(self._channel)
        self._operations = operations_pb2_grpc.OperationsStub(self._channel)
        self._timeout_s = timeout_s
        self._retry = retry

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def _unary(self, method: Any, request: Any, timeout_s: Optional[float]) -> Any:
        deadline = time.monotonic() + (timeout_s or self._timeout_s)
        request_id = uuid.uuid4().hex
        attempt = 1
        while True:
            try:
                return await method(request, timeout=max(0.001, time_left(deadline)),
                                    metadata=self._metadata + (("x-request-id", request_id),))
            except grpc.RpcError as error:
                delay = retry_delay(error, self._retry, attempt)
                if delay is None or time_left(deadline) <= delay:
                    raise from_rpc_error(error, await _request_id_of(error, request_id)) from None
                await asyncio.sleep(delay)
                attempt += 1

    async def transcribe_audio(self, audio_bytes: AudioSource, *, model: Optional[str] = None,
                               language: Optional[str] = None, prompt: Optional[str] = None,
                               temperature: Optional[float] = None,
                               response_format: str = "verbose_json",
                               word_timestamps: bool = False,
                               timeout_s: Optional[float] = None) -> Dict[str, Any]:
        """See :meth:`voxgate.Client.transcribe_audio`."""
        size = _convert.audio_size(audio_bytes)
        if size is not None and size > UPLOAD_THRESHOLD_BYTES:
            return await self.transcribe_upload(
                audio_bytes, model=model, language=language, prompt=prompt,
                temperature=temperature, response_format=response_format,
                word_timestamps=word_timestamps, timeout_s=timeout_s)
        request = transcribe_pb2.TranscribeRequest(
            audio=audio_pb2.AudioInput(content=_convert.read_audio(audio_bytes)),
            config=_convert.recognition_config(model, language, prompt, temperature,
                                               response_format, word_timestamps))
        return _convert.transcription_dict(
            await self._unary(self._stub.Transcribe, request, timeout_s))

    async def transcribe_url(self, uri: str, *, model: Optional[str] = None,
                             language: Optional[str] = None, prompt: Optional[str] = None,
                             temperature: Optional[float] = None,
                             response_format: str = "verbose_json",
                             word_timestamps: bool = False,
                             timeout_s: Optional[float] = None) -> Dict[str, Any]:
        """See :meth:`voxgate.Client.transcribe_url`."""
        request = transcribe_pb2.TranscribeRequest(
            audio=audio_pb2.AudioInput(uri=uri),
            config=_convert.recognition_config(model, language, prompt, temperature,
                                               response_format, word_timestamps))
        return _convert.transcription_dict(
            await self._unary(self._stub.Transcribe, request, timeout_s))

    async def transcribe_upload(self, source: Any, *, model: Optional[str] = None,
                                language: Optional[str] = None, prompt: Optional[str] = None,
                                temperature: Optional[float] = None,
                                response_format: str = "verbose_json",
                                word_timestamps: bool = False,
                                on_progress: Optional[Callable[[Dict[str, Any]], None]] = None,
                                timeout_s: Optional[float] = None) -> Dict[str, Any]:
        """See :meth:`voxgate.Client.transcribe_upload`; the file is read in a
        thread, and ``on_progress`` runs on the event loop."""
        config = transcribe_pb2.TranscribeUploadConfig(
            config=_convert.recognition_config(model, language, prompt, temperature,
                                               response_format, word_timestamps))
        file, total, owned = _convert.open_upload(source)
        config.total_bytes = total or 0
        state: Dict[str, Any] = {"bytes_sent": 0, "bytes_total": total}

        def report(update: Dict[str, Any]) -> None:
            state.update(update)
            if on_progress is not None:
                on_progress(dict(state))

        async def requests() -> AsyncIterator[transcribe_pb2.TranscribeUploadRequest]:
            yield transcribe_pb2.TranscribeUploadRequest(config=config)
            while True:
                piece = await asyncio.to_thread(file.read, _UPLOAD_PIECE)
                if not piece:
                    return
                yield transcribe_pb2.TranscribeUploadRequest(audio_content=piece)
                report({"bytes_sent": state["bytes_sent"] + len(piece)})

        request_id = uuid.uuid4().hex
        call = self._stub.TranscribeUpload(
            requests(), timeout=timeout_s,
            metadata=self._metadata + (("x-request-id", request_id),))
        result = None
        try:
            async for response in call:
                if response.HasField("progress"):
                    report(_convert.upload_progress_dict(response.progress))
                elif response.HasField("result"):
                    result = response.result
        except grpc.RpcError as error:
            raise from_rpc_error(error, await _request_id_of(error, request_id)) from None
        finally:
            call.cancel()
            if owned:
                file.close()
        return upload_result(result, request_id)

    async def start_batch(self, items: Sequence[Any], *, ids: Optional[Sequence[str]] = None,
                          model: Optional[str] = None, language: Optional[str] = None,
                          prompt: Optional[str] = None, temperature: Optional[float] = None,
                          response_format: str = "verbose_json",
                          word_timestamps: bool = False,
                          timeout_s: Optional[float] = None) -> operations_pb2.Operation:
        """See :meth:`voxgate.Client.start_batch`."""
        request = _batch.batch_request(
            items, ids, _convert.recognition_config(model, language, prompt, temperature,
                                                    response_format, word_timestamps))
        return await self._unary(self._stub.BatchTranscribe, request, timeout_s)

    async def get_operation(self, name: str, *,
                            timeout_s: Optional[float] = None) -> operations_pb2.Operation:
        return await self._unary(self._operations.GetOperation,
                                 operations_pb2.GetOperationRequest(name=name), timeout_s)

    async def wait_operation(self, name: str, wait_s: float = 10.0, *,
                             timeout_s: Optional[float] = None) -> operations_pb2.Operation:
        """See :meth:`voxgate.Client.wait_operation`."""
        request = operations_pb2.WaitOperationRequest(
            name=name, timeout=duration_pb2.Duration(seconds=int(wait_s),
                                                     nanos=int(wait_s % 1 * 1e9)))
        return await self._unary(self._operations.WaitOperation, request,
                                 timeout_s or wait_s + self._timeout_s)

    async def cancel_operation(self, name: str, *, timeout_s: Optional[float] = None) -> None:
        await self._unary(self._operations.CancelOperation,
                          operations_pb2.CancelOperationRequest(name=name), timeout_s)

    async def delete_operation(self, name: str, *, timeout_s: Optional[float] = None) -> None:
        await self._unary(self._operations.DeleteOperation,
                          operations_pb2.DeleteOperationRequest(name=name), timeout_s)

    async def transcribe_batch(self, items: Sequence[Any], *,
                               ids: Optional[Sequence[str]] = None,
                               on_progress: Optional[Callable[[Dict[str, Any]], None]] = None,
                               poll_s: float = 5.0, timeout_s: Optional[float] = None,
                               **recognition: Any) -> List[Dict[str, Any]]:
        """See :meth:`voxgate.Client.transcribe_batch`; a cancelled task
        cancels the operation."""
        operation = await self.start_batch(items, ids=ids, **recognition)
        report = _batch.ProgressReporter(on_progress)
        waits = _batch.Waits(poll_s, timeout_s)
        try:
            while not operation.done:
                report(operation)
                wait_s = waits.next()
                operation = await self.wait_operation(operation.name, wait_s)
        except BaseException:
            if not operation.done:
                try:
                    await asyncio.shield(self.cancel_operation(operation.name, timeout_s=10))
                except VoxgateError:
                    pass  # the error that brought us here matters more
            raise
        report(operation)
        return _batch.results_of(operation)

    async def analyze_audio(self, audio_bytes: AudioSource, instruction: str, *,
                            mode: Optional[str] = None, model: Optional[str] = None,
                            system_prompt: Optional[str] = None,
                            timeout_s: Optional[float] = None, **params: Any) -> Dict[str, Any]:
        """See :meth:`voxgate.Client.analyze_audio`."""
        request = _convert.analyze_request(_convert.read_audio(audio_bytes), instruction,
                                           mode, model, system_prompt, params)
        return _convert.analysis_dict(await self._unary(self._stub.Analyze, request, timeout_s))

    async def chat_completion(self, messages: Iterable[Mapping[str, Any]], *,
                              timeout_s: Optional[float] = None, **params: Any) -> Dict[str, Any]:
        """See :meth:`voxgate.Client.chat_completion`."""
        request = _convert.chat_request(messages, params)
        return _convert.chat_completion_dict(
            await self._unary(self._stub.Chat, request, timeout_s))

    def chat_stream(self, messages: Iterable[Mapping[str, Any]], *,
                    timeout_s: Optional[float] = None, **params: Any) -> "AsyncChatStream":
        """Async iterator of the answer's text deltas, as they are produced;
        afterwards finish_reason, usage, model and tool_calls, as on
        :class:`voxgate.client.ChatStream`. Leaving the loop early cancels the
        call, and the gateway aborts the upstream request."""
        request = _convert.chat_request(messages, params)
        return AsyncChatStream(
            self._stub.ChatStream(request, timeout=timeout_s or self._timeout_s,
                                   metadata=self._metadata))

    async def stream_transcribe(self, source: Any, *, sample_rate: int = 16000,
                                realtime: bool = True, interim_results: bool = True,
                                model: Optional[str] = None, language: Optional[str] = None,
                                chunk_ms: int = 100,
                                timeout_s: Optional[float] = None
                                ) -> AsyncIterator[Dict[str, Any]]:
        """See :meth:`voxgate.Client.stream_transcribe`; ``source`` may also be
        an async iterable of PCM chunks."""
        if isinstance(source, (bytes, bytearray, str)) or hasattr(source, "__fspath__"):
            rate, pcm = _convert.wav_pcm(_convert.read_audio(source))
            chunks = _paced_chunks(pcm, rate, chunk_ms, realtime)
        else:
            rate, chunks = sample_rate, _as_async(source)
        config = _convert.stream_config(rate, interim_results, model, language)
        call = self._stub.StreamTranscribe(_stream_requests(config, chunks),
                                           timeout=timeout_s or self._timeout_s,
                                           metadata=self._metadata)
        try:
            async for response in call:
                result = _convert.stream_result_dict(response)
                if result is not None:
                    yield result
        except grpc.RpcError as error:
            raise from_rpc_error(error, await _request_id_of(error, "")) from None
        finally:
            call.cancel()

    async def list_models(self, *, timeout_s: Optional[float] = None) -> List[Dict[str, Any]]:
        """See :meth:`voxgate.Client.list_models`."""
        return _convert.model_dicts(
            await self._unary(self._stub.ListModels, models_pb2.ListModelsRequest(), timeout_s))


async def _as_async(chunks: Any) -> AsyncIterator[bytes]:
    if hasattr(chunks, "__aiter__"):
        async for chunk in chunks:
            yield chunk
    else:
        for chunk in chunks:
            yield chunk


async def _paced_chunks(pcm: bytes, rate: int, chunk_ms: int,
                        realtime: bool) -> AsyncIterator[bytes]:
    size = rate * 2 * chunk_ms // 1000
    start = time.monotonic()
    for offset in range(0, len(pcm), size):
        if realtime:
            await asyncio.sleep(max(0.0, start + offset / (rate * 2) - time.monotonic()))
        yield pcm[offset:offset + size]


async def _stream_requests(config: stream_pb2.StreamTranscribeRequest,
                           chunks: AsyncIterator[bytes]
                           ) -> AsyncIterator[stream_pb2.StreamTranscribeRequest]:
    yield config
    async for chunk in chunks:
        for offset in range(0, len(chunk), 65536):
            yield stream_pb2.StreamTranscribeRequest(audio=bytes(chunk[offset:offset + 65536]))


class AsyncChatStream(_convert.StreamEnd):
    """The async form of :class:`voxgate.client.ChatStream`."""

    def __init__(self, call: Any) -> None:
        self._call = call
        self._state = _convert.StreamState()

    async def __aiter__(self) -> AsyncIterator[str]:
        try:
            async for chunk in self._call:
                delta = self._state.add(chunk)
                if delta:
                    yield delta
        except grpc.RpcError as error:
            raise from_rpc_error(error, await _request_id_of(error, "")) from None
        finally:
            self._call.cancel()
