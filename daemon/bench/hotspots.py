"""Where a benchmark spends its time: the top functions by own time (cProfile).

Benchmarks print this when they fall short of their goal, so the report says
what to work on next, not only that the figure is short.
"""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Hotspot:
    function: str  # file:line(name)
    calls: str
    own_seconds: float
    share: float  # of all profiled own time

    def as_dict(self) -> dict[str, object]:
        return {
            "function": self.function,
            "calls": self.calls,
            "own_seconds": round(self.own_seconds, 3),
            "share": round(self.share, 3),
        }


def profiled(run: Callable[[], T], limit: int = 8) -> tuple[T, list[Hotspot]]:
    """Run ``run`` under cProfile; its result and the ``limit`` top functions by own time."""
    prof = cProfile.Profile()
    result = prof.runcall(run)
    stats = pstats.Stats(prof).get_stats_profile()
    total = stats.total_tt or 1.0
    top = sorted(stats.func_profiles.items(), key=lambda kv: kv[1].tottime, reverse=True)
    return result, [
        Hotspot(
            f"{Path(p.file_name).name}:{p.line_number}({name})",
            p.ncalls,
            p.tottime,
            p.tottime / total,
        )
        for name, p in top[:limit]
    ]
