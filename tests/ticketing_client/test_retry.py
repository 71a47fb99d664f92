from __future__ import annotations

import random
from email.utils import formatdate

from gatewatch.ticketing_client.retry import RetryPolicy, parse_retry_after


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy, rng = RetryPolicy(base=1.0, cap=60.0), random.Random(7)
    delays = [policy.delay(n, None, rng) for n in range(1, 12)]
    for n, d in enumerate(delays, start=1):
        full = min(60.0, 2 ** (n - 1))
        assert full / 2 <= d <= full
    assert len({round(d, 6) for d in delays}) == len(delays)  # jittered, not a fixed ladder


def test_retry_after_wins_and_is_bounded() -> None:
    policy, rng = RetryPolicy(max_retry_after=600.0), random.Random(1)
    assert policy.delay(1, 30.0, rng) == 30.0
    assert policy.delay(9, 86_400.0, rng) == 600.0


def test_parse_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("12", 0.0) == 12.0
    now = 1_764_100_000.0
    assert parse_retry_after(formatdate(now + 90, usegmt=True), now) == 90.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
