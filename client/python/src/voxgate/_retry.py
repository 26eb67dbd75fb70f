"""Retries of UNAVAILABLE (no model server reachable, or a replica draining),
with full-jitter exponential backoff, inside the call's overall time budget."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import grpc


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3          # including the first
    initial_backoff_s: float = 0.1
    max_backoff_s: float = 2.0

    def delay(self, attempt: int) -> float:
        """Wait before retry number `attempt` (1-based)."""
        cap = min(self.max_backoff_s, self.initial_backoff_s * 2 ** (attempt - 1))
        return random.uniform(0, cap)


def retryable(error: grpc.RpcError) -> bool:
    return hasattr(error, "code") and error.code() == grpc.StatusCode.UNAVAILABLE


def time_left(deadline: float) -> float:
    return deadline - time.monotonic()
