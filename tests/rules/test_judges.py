"""The engine's inlined judges agree with the model: Band.judge on Series.value / Series.rate."""

from __future__ import annotations

import math

from gatewatch.rules.engine import make_judge
from gatewatch.rules.language.model import Band, Condition, Kind
from gatewatch.rules.series import Series
from hypothesis import given
from hypothesis import strategies as st

steps = st.lists(
    st.tuples(st.sampled_from([0.0, 0.5, 10.0, 60.0]), st.floats(-100, 100)), max_size=40
)
bands = st.sampled_from(
    [
        Band(above=1.0, clear_above=0.5),
        Band(below=-2.0, clear_below=-1.0),
        Band(above=30.0, below=10.0, clear_above=28.0, clear_below=12.0),
    ]
)


@given(steps=steps, band=bands, window=st.sampled_from([0.0, 30.0, 120.0, 300.0]))
def test_rate_and_value_judges_equal_band_judge(
    steps: list[tuple[float, float]], band: Band, window: float
) -> None:
    s = Series("hq", "a", "m", None)
    s.keep = window
    rate = make_judge(Condition(Kind.RATE, band=band, window=window))
    value = make_judge(Condition(Kind.THRESHOLD, band=band, window=window))
    t = 1_700_000_000.0
    for gap, v in steps:
        t += gap
        s.push(t, v)
        assert rate(s) == band.judge(s.rate(window))
        assert value(s) == band.judge(s.value)


def test_rate_judge_sees_a_rise_over_its_window() -> None:
    s = Series("hq", "a", "m", None)
    judge = make_judge(Condition(Kind.RATE, band=Band(above=1.0, clear_above=0.5), window=120.0))
    s.push(0.0, 20.0)
    assert judge(s) == 0 and math.isnan(s.rate(120.0))  # one reading: no rate, hold
    s.push(60.0, 22.0)
    assert judge(s) == 1  # 2 per minute
    s.push(120.0, 22.0)
    assert judge(s) == 0  # 1 per minute over the 2 minutes: not above, not cleared
    s.push(240.0, 22.0)
    assert judge(s) == -1
