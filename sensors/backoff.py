"""Exponential backoff with jitter, for anything that retries a remote server."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class Backoff:
    """The n-th delay (from 0) lies in [d/2, d] with d = min(maximum, minimum * 2**n).

    "Equal jitter": the floor d/2 keeps a dead server from being hammered, the
    random half spreads out gateways that lost the same server at once.
    """

    minimum: float = 0.5
    maximum: float = 30.0
    rng: Callable[[], float] = random.random
    attempts: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.minimum <= self.maximum:
            raise ValueError(f"need 0 < minimum <= maximum, got {self.minimum}, {self.maximum}")

    def next(self) -> float:
        """The delay before the next attempt; each call doubles the ceiling up to ``maximum``."""
        ceiling = min(self.maximum, self.minimum * 2.0 ** min(self.attempts, 62))
        self.attempts += 1
        return ceiling / 2 + self.rng() * ceiling / 2

    def reset(self) -> None:
        self.attempts = 0
