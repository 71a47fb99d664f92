"""sensors/arrival.py: readings without a payload time keep their arrival order."""

from __future__ import annotations

from gatewatch.core.reading import Reading
from gatewatch.sensors.arrival import ArrivalOrder

T0 = 1_764_000_000.0


def received(ts: float, metric: str = "temp") -> Reading:
    return Reading("hq", "srv", metric, ts, 1.0, "C", True)


def test_a_burst_within_one_millisecond_gets_one_millisecond_each_per_series() -> None:
    order = ArrivalOrder()
    out = [order.order([received(T0 + 0.0001 * i)])[0] for i in range(5)]
    assert [round(r.ts * 1000) for r in out] == [round(T0 * 1000) + i for i in range(5)]
    assert all(r.received for r in out)
    other = order.order([received(T0, "hum")])[0]
    assert other.ts == T0  # series are counted apart


def test_readings_with_a_payload_time_are_left_as_they_are() -> None:
    order = ArrivalOrder()
    order.order([received(T0)])
    timed = Reading("hq", "srv", "temp", T0, 2.0, "C")
    assert order.order([timed])[0] is timed


def test_a_clock_step_back_beyond_a_minute_is_not_squeezed_after_the_last_time() -> None:
    order = ArrivalOrder()
    order.order([received(T0)])
    assert order.order([received(T0 - 30)])[0].ts == T0 + 0.001  # within a minute: bumped
    assert order.order([received(T0 - 3600)])[0].ts == T0 - 3600
