"""Retry timing: exponential backoff with full jitter, and Retry-After parsing."""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base: float = 1.0  # first retry after up to this many seconds
    cap: float = 60.0  # never wait longer than this between attempts
    max_retry_after: float = 3600.0  # a desk asking for more than this gets this

    def delay(self, attempts: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds before the next attempt after ``attempts`` failed ones (>= 1)."""
        backoff: float = rng.uniform(0.5, 1.0) * min(self.cap, self.base * 2 ** (attempts - 1))
        if retry_after is None:
            return backoff
        return min(max(retry_after, 0.0), self.max_retry_after)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)
