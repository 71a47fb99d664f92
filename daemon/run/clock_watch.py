"""Steps of the gateway's wall clock, seen against a clock NTP never steps.

``time.time`` jumps when NTP (or a person) sets the clock: years forward on a
box without RTC that booted at 1970, an hour back after a wrong manual
setting. ``CLOCK_BOOTTIME`` only ever runs forward, and counts the time the
machine was suspended, so the difference between the two over an interval is
the step. The rules runtime asks before each evaluation and tells the engine,
which moves its timers with the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gatewatch.rules.engine import CLOCK_STEP_S


def boottime() -> float:
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    except (AttributeError, OSError):  # not Linux
        return time.monotonic()


class ClockWatch:
    def __init__(
        self,
        wall: Callable[[], float] = time.time,
        steady: Callable[[], float] = boottime,
        threshold: float = CLOCK_STEP_S,
    ) -> None:
        self.wall, self.steady, self.threshold = wall, steady, threshold
        self._last: tuple[float, float] | None = None

    def step(self) -> float:
        """Seconds the wall clock jumped since the last call, beyond the time that passed;
        0.0 for less than ``threshold`` (drift and NTP slewing are no step)."""
        now = (self.wall(), self.steady())
        last, self._last = self._last, now
        if last is None:
            return 0.0
        jump = (now[0] - last[0]) - (now[1] - last[1])
        return jump if abs(jump) >= self.threshold else 0.0
