"""Retries: UNAVAILABLE (no model server reachable, or a replica draining) with
full-jitter exponential backoff, and RESOURCE_EXHAUSTED when the gateway says
when to come back (a ``retry-after`` trailer, as a rate limit sends), all inside
the call's overall time budget."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Optional

import grpc


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3          # including the first
    initial_backoff_s: float = 0.1
    max_backoff_s: float = 2.0
    # A rate limit's retry-after longer than this is not waited for.
    max_retry_after_s: float = 30.0

    def delay(self, attempt: int) -> float:
        """Wait before retry number `attempt` (1-based)."""
        cap = min(self.max_backoff_s, self.initial_backoff_s * 2 ** (attempt - 1))
        return random.uniform(0, cap)


def retry_after_s(error: grpc.RpcError) -> Optional[float]:
    """The gateway's ``retry-after`` trailer (seconds), if it sent one."""
    try:
        for key, value in error.trailing_metadata() or ():
            if key == "retry-after":
                return float(value)
    except Exception:  # not every RpcError is a Call
        pass
    return None


def retry_delay(error: grpc.RpcError, policy: RetryPolicy, attempt: int) -> Optional[float]:
    """How long to wait before retrying after `error`, or None not to retry."""
    if not hasattr(error, "code") or attempt >= policy.attempts:
        return None
    if error.code() == grpc.StatusCode.UNAVAILABLE:
        return policy.delay(attempt)
    if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
        after = retry_after_s(error)
        if after is not None and after <= policy.max_retry_after_s:
            return after
    return None


def retryable(error: grpc.RpcError) -> bool:
    return hasattr(error, "code") and error.code() == grpc.StatusCode.UNAVAILABLE


def time_left(deadline: float) -> float:
    return deadline - time.monotonic()
