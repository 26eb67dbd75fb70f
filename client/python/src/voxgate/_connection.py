"""How a client reaches the gateway: TLS (and mTLS) credentials and the API key."""

from __future__ import annotations

import os
from typing import Optional, Tuple

import grpc


def _read(path: Optional[str]) -> Optional[bytes]:
    if path is None:
        return None
    with open(path, "rb") as file:
        return file.read()


def tls_credentials(ca_file: Optional[str] = None, client_cert_file: Optional[str] = None,
                    client_key_file: Optional[str] = None,
                    tls: bool = False) -> Optional[grpc.ChannelCredentials]:
    """TLS credentials when any file is given or ``tls`` is set (the system's roots
    when no ``ca_file``); None for plaintext."""
    if (client_cert_file is None) != (client_key_file is None):
        raise ValueError("client_cert_file and client_key_file go together")
    if not (tls or ca_file or client_cert_file):
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=_read(ca_file), private_key=_read(client_key_file),
        certificate_chain=_read(client_cert_file))


def auth_metadata(api_key: Optional[str]) -> Tuple[Tuple[str, str], ...]:
    """The metadata every call carries: ``authorization: Bearer <key>`` when a key
    is given (or is in ``$VOXGATE_API_KEY``)."""
    key = api_key if api_key is not None else os.environ.get("VOXGATE_API_KEY")
    return (("authorization", f"Bearer {key}"),) if key else ()
