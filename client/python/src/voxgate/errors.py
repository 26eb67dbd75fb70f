"""Typed exceptions, one per kind of failure a caller handles differently.

Every exception carries the gRPC ``code``, the gateway's ``message`` (which
names the field or limit at fault) and the ``request_id`` to quote in a bug
report.
"""

from __future__ import annotations

from typing import Optional

import grpc

from voxgate._retry import retry_after_s


class VoxgateError(Exception):
    """A call failed; the base of every Voxgate exception."""

    def __init__(self, message: str, code: grpc.StatusCode,
                 request_id: Optional[str] = None,
                 retry_after_s: Optional[float] = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.request_id = request_id
        # When the gateway said to come back (a rate limit or quota), seconds.
        self.retry_after_s = retry_after_s

    def __str__(self) -> str:
        suffix = f" [request {self.request_id}]" if self.request_id else ""
        return f"{self.code.name}: {self.message}{suffix}"


class InvalidRequestError(VoxgateError):
    """The request is wrong (INVALID_ARGUMENT, OUT_OF_RANGE): fix it, do not retry."""


class AudioProcessingError(InvalidRequestError):
    """The audio could not be decoded or breaks a limit (size, duration)."""


class NotConfiguredError(VoxgateError):
    """The gateway has no pool for this (FAILED_PRECONDITION), e.g. no text model."""


class ModelNotFoundError(VoxgateError):
    """The model named is not configured (NOT_FOUND); see list_models()."""


class OverloadedError(VoxgateError):
    """The gateway or its upstream is at capacity (RESOURCE_EXHAUSTED): back off."""


class UpstreamUnavailableError(VoxgateError):
    """No model server could be reached, or the gateway is draining (UNAVAILABLE)."""


class UpstreamTimeoutError(VoxgateError):
    """The deadline passed before the answer (DEADLINE_EXCEEDED)."""


class AuthenticationError(VoxgateError):
    """The credentials were refused (UNAUTHENTICATED, PERMISSION_DENIED)."""


class CancelledError(VoxgateError):
    """The call was cancelled (CANCELLED)."""


_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidRequestError,
    grpc.StatusCode.OUT_OF_RANGE: InvalidRequestError,
    grpc.StatusCode.FAILED_PRECONDITION: NotConfiguredError,
    grpc.StatusCode.NOT_FOUND: ModelNotFoundError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: OverloadedError,
    grpc.StatusCode.UNAVAILABLE: UpstreamUnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: UpstreamTimeoutError,
    grpc.StatusCode.UNAUTHENTICATED: AuthenticationError,
    grpc.StatusCode.PERMISSION_DENIED: AuthenticationError,
    grpc.StatusCode.CANCELLED: CancelledError,
}


def error_for_code(code: grpc.StatusCode, message: str,
                   request_id: Optional[str] = None) -> VoxgateError:
    """The typed exception for a status code and message (a batch file's
    error)."""
    kind = _BY_CODE.get(code, VoxgateError)
    if kind is InvalidRequestError and message.startswith("audio"):
        kind = AudioProcessingError
    return kind(message or code.name, code, request_id)


def from_rpc_error(error: grpc.RpcError,
                   request_id: Optional[str] = None) -> VoxgateError:
    """The typed exception for a failed call."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = error.details() if hasattr(error, "details") else str(error)
    message = message or code.name
    kind = _BY_CODE.get(code, VoxgateError)
    # The gateway prefixes audio problems with "audio" (the field).
    if kind is InvalidRequestError and message.startswith("audio"):
        kind = AudioProcessingError
    return kind(message, code, request_id, retry_after_s(error))
