"""Python client for Voxgate, the gRPC gateway for speech and language models.

    import voxgate
    client = voxgate.Client("localhost:50051")
    print(client.transcribe_audio(open("meeting.mp3", "rb").read())["text"])

The module-level functions (transcribe_audio, analyze_audio, chat_completion,
list_models, ...) use a shared client for ``$VOXGATE_ADDRESS`` (default
localhost:50051), like the ``inference_gateway`` functions they replace.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Optional

from voxgate._retry import RetryPolicy
from voxgate.aio import AsyncClient
from voxgate.client import Client
from voxgate.errors import (AudioProcessingError, AuthenticationError, CancelledError,
                            InvalidRequestError, ModelNotFoundError, NotConfiguredError,
                            OverloadedError, UpstreamTimeoutError, UpstreamUnavailableError,
                            VoxgateError)

__all__ = [
    "AsyncClient", "Client", "RetryPolicy", "VoxgateError", "InvalidRequestError",
    "AudioProcessingError", "NotConfiguredError", "ModelNotFoundError", "OverloadedError",
    "UpstreamUnavailableError", "UpstreamTimeoutError", "AuthenticationError",
    "CancelledError", "transcribe_audio", "transcribe_upload", "transcribe_batch",
    "analyze_audio",
    "chat_completion", "chat_stream", "stream_transcribe", "list_models",
]

_default: Optional[Client] = None
_default_lock = threading.Lock()


def _client() -> Client:
    global _default
    with _default_lock:
        if _default is None:
            _default = Client(os.environ.get("VOXGATE_ADDRESS", "localhost:50051"))
        return _default


def transcribe_audio(audio_bytes: Any, **kwargs: Any):
    return _client().transcribe_audio(audio_bytes, **kwargs)


def transcribe_upload(source: Any, **kwargs: Any):
    return _client().transcribe_upload(source, **kwargs)


def transcribe_batch(items: Any, **kwargs: Any):
    return _client().transcribe_batch(items, **kwargs)


def analyze_audio(audio_bytes: Any, instruction: str, **kwargs: Any):
    return _client().analyze_audio(audio_bytes, instruction, **kwargs)


def chat_completion(messages: Any, **params: Any):
    return _client().chat_completion(messages, **params)


def chat_stream(messages: Any, **params: Any):
    return _client().chat_stream(messages, **params)


def stream_transcribe(source: Any, **kwargs: Any):
    return _client().stream_transcribe(source, **kwargs)


def list_models(**kwargs: Any):
    return _client().list_models(**kwargs)
