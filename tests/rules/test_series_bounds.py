"""A series holds the history its rules need and not much more (issue 18)."""

from __future__ import annotations

import math

from gatewatch.rules.series import SLACK, TRIM_AT, Series

from tests.rules.rulehelpers import engine, r


def _longest(keep: float, seconds: int, step: float = 1.0) -> tuple[Series, int]:
    s = Series("hq", "a", "m", None)
    s.keep = keep
    longest = 0
    for i in range(seconds):
        s.push(i * step, float(i))
        longest = max(longest, len(s.ts))
    return s, longest


def test_history_at_1_hz_stays_within_an_eighth_above_the_window() -> None:
    s, longest = _longest(300.0, 3600)
    assert longest <= math.ceil(300 * (1 + SLACK)) + 2  # ~339 readings, not 600
    assert s.ts[0] <= 3599 - 300  # the window itself is always there (with its baseline)
    assert s.rate(300.0) == 60.0


def test_a_series_no_rule_reads_history_of_keeps_only_a_few_readings() -> None:
    _, longest = _longest(0.0, 3600)
    assert longest <= TRIM_AT + 1


def test_a_no_data_rule_keeps_no_history_and_a_threshold_rule_its_window() -> None:
    eng = engine(
        """
        rules:
          - id: room-hot
            select: {asset: server-room-1, metric: temperature}
            when: {above: 27, clear: 25, window: 2m}
          - id: lift-quiet
            select: {asset: lift-a1, metric: speed}
            when: {no_data_for: 10m}
        """
    )
    for i in range(1200):
        eng.process([r("server-room-1", "temperature", i, 20.0), r("lift-a1", "speed", i, 1.0)])
    history = {s.metric: s.history for s in eng.snapshot().series}
    assert len(history["speed"]) == 1
    assert 120 <= len(history["temperature"]) <= 122
