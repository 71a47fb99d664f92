"""ClockWatch: a wall-clock step is the jump beyond the time a steady clock saw pass."""

from __future__ import annotations

from gatewatch.daemon.run.clock_watch import ClockWatch


def test_steps_either_way_are_told_and_drift_is_not() -> None:
    wall, steady = [1000.0], [5.0]
    watch = ClockWatch(lambda: wall[0], lambda: steady[0], threshold=300)
    assert watch.step() == 0.0  # the baseline
    wall[0], steady[0] = 1010.0, 15.0
    assert watch.step() == 0.0  # time passed, no step
    wall[0], steady[0] = 1020.0 - 3600, 25.0
    assert watch.step() == -3600.0  # NTP: an hour back
    wall[0], steady[0] = 1_764_000_000.0, 30.0
    assert watch.step() == 1_764_000_000.0 - (1020.0 - 3600) - 5  # years forward
    wall[0], steady[0] = 1_764_000_000.0 + 200, 30.0
    assert watch.step() == 0.0  # under the threshold: not a step
