"""Incident 7: a degrading pump gets one predictive alert >= 7 days before zone C."""

from __future__ import annotations

import numpy as np
import pytest
from gatewatch.anomaly.wear.degradation import DegradationConfig
from gatewatch.anomaly.wear.simulate import PumpSim, replay, simulate
from gatewatch.anomaly.wear.zones import limits_for

CFG = DegradationConfig(limits_for("II"))
START = 1_700_006_400.0


@pytest.mark.parametrize(("growth", "seed"), [(0.01, 1), (0.02, 2), (0.03, 3)])
def test_degrading_pump_raises_one_alert_at_least_7_days_before_zone_c(
    growth: float, seed: int
) -> None:
    sim = PumpSim(growth_per_day=growth, onset_day=45)
    ts, v = simulate(sim, sim.day_reaching(2.8) + 10, START, np.random.default_rng(seed))
    r = replay(ts, v, CFG, horizon_days=30)
    assert len(r.alert_starts) == 1
    lead = sim.day_reaching(2.8) - r.alert_starts[0]
    assert lead >= 7, lead
    assert r.alert_starts[0] > sim.onset_day  # not before the wear began


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_healthy_pump_raises_nothing_over_a_simulated_year(seed: int) -> None:
    ts, v = simulate(PumpSim(), 365, START, np.random.default_rng(seed))
    r = replay(ts, v, CFG, horizon_days=30)
    assert r.alert_starts == []
    assert np.isnan(r.days_to_c[: CFG.min_days - 1]).all()  # cold start said so


def test_healthy_pump_with_a_sensor_swap_raises_nothing() -> None:
    ts, v = simulate(PumpSim(), 120, START, np.random.default_rng(5))
    v[ts > START + 60 * 86_400] *= 1.45  # new sensor reads 45 % higher, still zone B
    r = replay(ts, v, CFG, horizon_days=30)
    assert r.alert_starts == []


def test_simulation_shape_and_noise_free_trend() -> None:
    sim = PumpSim(growth_per_day=0.02, onset_day=10)
    ts, v = simulate(sim, 20, START, np.random.default_rng(0))
    assert ts.size == 20 * 144
    assert np.all(v > 0)
    assert sim.trend(np.array([5.0, 20.0])) == pytest.approx([1.6, 1.6 * np.exp(0.2)])
    assert sim.day_reaching(2.8) == pytest.approx(10 + np.log(2.8 / 1.6) / 0.02)


def test_healthy_pump_with_nan_gaps_and_a_stuck_sensor_raises_nothing() -> None:
    rng = np.random.default_rng(21)
    ts, v = simulate(PumpSim(), 200, START, rng)
    v[rng.random(v.size) < 0.2] = np.nan  # lost messages
    day = (ts - START) / 86_400
    v[(day > 50) & (day < 60)] = np.nan  # ten days offline
    v[(day > 100) & (day < 130)] = 1.7  # stuck sensor: constant value
    keep = ~((day > 150) & (day < 152))  # two days with no rows at all
    r = replay(ts[keep], v[keep], CFG, horizon_days=30)
    assert r.alert_starts == []


def test_degrading_pump_with_lost_messages_is_still_flagged_early() -> None:
    sim = PumpSim(growth_per_day=0.02, onset_day=40)
    rng = np.random.default_rng(22)
    ts, v = simulate(sim, sim.day_reaching(2.8) + 5, START, rng)
    v[rng.random(v.size) < 0.3] = np.nan
    r = replay(ts, v, CFG, horizon_days=30)
    assert len(r.alert_starts) == 1
    assert sim.day_reaching(2.8) - r.alert_starts[0] >= 7
