"""A drop-in for the inference-gateway library's Python API, served by Voxgate.

Code written against that library changes one import::

    # from inference_gateway import GatewayConfig, transcribe_audio, ...
    from voxgate.compat import GatewayConfig, transcribe_audio, ...

and keeps its calls, return types and ``except`` clauses. ``GatewayConfig``
points at a Voxgate address instead of model servers: the gateway holds the
model servers' URLs and keys. The library's own fields (``text_base_url``,
``audio_base_url``, ``text_model``, ``audio_model``, ``api_key``,
``timeout``) are still accepted; the models are sent as model ids, the URLs and
key are not used (configure them on the gateway).

Every function is async, like the library's. The richer native client is
:class:`voxgate.aio.AsyncClient`.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional

from voxgate import errors as _native
from voxgate.aio import AsyncClient

__all__ = [
    "GatewayConfig", "transcribe_audio", "analyze_audio", "chat_completion", "list_models",
    "GatewayError", "AudioProcessingError", "UpstreamError", "UpstreamUnreachableError",
    "UpstreamTimeoutError", "InvalidRequestError", "ConfigurationError",
]


class GatewayConfig:
    """Where Voxgate listens, and the library's own settings."""

    def __init__(self, voxgate_address: str = "localhost:50051", *,
                 text_base_url: Optional[str] = None, audio_base_url: Optional[str] = None,
                 text_model: Optional[str] = None, audio_model: Optional[str] = None,
                 api_key: Optional[str] = None, timeout: float = 300.0,
                 **other: Any) -> None:
        self.voxgate_address = voxgate_address
        self.text_base_url = text_base_url
        self.audio_base_url = audio_base_url
        self.text_model = text_model
        self.audio_model = audio_model
        self.api_key = api_key
        self.timeout = timeout
        self.other = other


# The library's error classes.
class GatewayError(Exception):
    """Base of the library's errors."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AudioProcessingError(GatewayError):
    """The audio could not be processed; ``error_type`` says how."""

    def __init__(self, message: str, error_type: str = "processing") -> None:
        super().__init__(message)
        self.error_type = error_type


class UpstreamError(GatewayError):
    """A model server failed; ``upstream`` names it (Voxgate's pool)."""

    def __init__(self, message: str, upstream: str = "") -> None:
        super().__init__(message)
        self.upstream = upstream


class UpstreamUnreachableError(UpstreamError):
    """No model server could be reached."""


class UpstreamTimeoutError(UpstreamError):
    """The model server did not answer in time."""


class InvalidRequestError(GatewayError):
    """The request is wrong."""


class ConfigurationError(GatewayError):
    """The gateway is not set up for this request."""


def _upstream_of(message: str) -> str:
    match = re.search(r"pool (\S+?)[:\s]", message + " ")
    return match.group(1) if match else ""


def _translate(error: _native.VoxgateError) -> GatewayError:
    """The library's error for a Voxgate error."""
    message = error.message
    if isinstance(error, _native.AudioProcessingError) or (
            isinstance(error, _native.InvalidRequestError) and "audio" in message):
        kind = "too_large" if "limit" in message or "larger" in message else "decode"
        return AudioProcessingError(message, kind)
    if isinstance(error, _native.InvalidRequestError):
        return InvalidRequestError(message)
    if isinstance(error, (_native.NotConfiguredError, _native.ModelNotFoundError)):
        return ConfigurationError(message)
    if isinstance(error, _native.UpstreamTimeoutError):
        return UpstreamTimeoutError(message, _upstream_of(message))
    if isinstance(error, _native.UpstreamUnavailableError):
        return UpstreamUnreachableError(message, _upstream_of(message))
    return UpstreamError(message, _upstream_of(message))


_clients: Dict[str, AsyncClient] = {}


def _client(config: GatewayConfig) -> AsyncClient:
    # One channel per address and event loop (an asyncio channel belongs to
    # its loop), shared by every call as the library shares its HTTP client.
    key = f"{config.voxgate_address}/{config.timeout}/{id(asyncio.get_running_loop())}"
    if key not in _clients:
        _clients[key] = AsyncClient(config.voxgate_address, timeout_s=config.timeout)
    return _clients[key]


async def transcribe_audio(audio_bytes: bytes, config: GatewayConfig,
                           system_prompt: Optional[str] = None) -> str:
    """The transcript of the audio. ``system_prompt`` guides the recogniser
    (sent as its prompt)."""
    try:
        result = await _client(config).transcribe_audio(
            audio_bytes, model=config.audio_model, prompt=system_prompt,
            response_format="json")
    except _native.VoxgateError as error:
        raise _translate(error) from None
    return result["text"]


async def analyze_audio(audio_bytes: bytes, instruction: str, config: GatewayConfig,
                        system_prompt_prefix: Optional[str] = None) -> str:
    """The model's answer to ``instruction`` about the audio."""
    try:
        result = await _client(config).analyze_audio(
            audio_bytes, instruction, model=config.text_model,
            system_prompt=system_prompt_prefix)
    except _native.VoxgateError as error:
        raise _translate(error) from None
    return result["answer"]


async def chat_completion(messages: Iterable[Mapping[str, Any]], config: GatewayConfig,
                          **openai_params: Any) -> Dict[str, Any]:
    """An OpenAI chat.completion dict."""
    params = dict(openai_params)
    if config.text_model and not params.get("model"):
        params["model"] = config.text_model
    try:
        return await _client(config).chat_completion(list(messages), **params)
    except _native.VoxgateError as error:
        raise _translate(error) from None


async def list_models(config: GatewayConfig) -> Dict[str, Any]:
    """OpenAI's model list: ``{"object": "list", "data": [...]}``."""
    try:
        models: List[Dict[str, Any]] = await _client(config).list_models()
    except _native.VoxgateError as error:
        raise _translate(error) from None
    return {"object": "list", "data": models}
