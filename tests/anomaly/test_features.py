from __future__ import annotations

import math

import numpy as np
import pytest
from gatewatch.anomaly.features import (
    band_energies,
    count_trips,
    door_open_durations,
    rate_of_rise,
    series_features,
    temperature_features,
    waveform_features,
    window_features,
)


def test_waveform_features_of_a_hand_computed_window() -> None:
    x = np.array([1.0, -1.0, 1.0, -1.0, 3.0, -3.0, np.nan])  # the NaN is dropped
    f = waveform_features(x, fs=1000.0, bands=())
    # mean square = (1+1+1+1+9+9)/6 = 22/6; mean = 0
    assert f["rms"] == pytest.approx(math.sqrt(22 / 6))
    assert f["peak"] == 3.0
    assert f["crest_factor"] == pytest.approx(3 / math.sqrt(22 / 6))
    # fourth moment = (4*1 + 2*81)/6 = 166/6; kurtosis = (166/6) / (22/6)^2
    assert f["kurtosis"] == pytest.approx((166 / 6) / (22 / 6) ** 2)


def test_band_energy_of_a_sine_lands_in_its_band_and_obeys_parseval() -> None:
    fs, n = 2000.0, 2000
    t = np.arange(n) / fs
    x = 2.0 * np.sin(2 * np.pi * 50 * t) + 0.5 * np.sin(2 * np.pi * 300 * t)
    bands = band_energies(x, fs, [(10, 100), (100, 500), (500, 1000)])
    assert bands["band_10_100hz"] == pytest.approx(2.0**2 / 2)  # A^2/2
    assert bands["band_100_500hz"] == pytest.approx(0.5**2 / 2)
    assert bands["band_500_1000hz"] == pytest.approx(0.0, abs=1e-20)
    assert sum(bands.values()) == pytest.approx(np.mean(x**2))


def test_gaussian_noise_has_kurtosis_near_three_and_impacts_raise_it() -> None:
    x = np.random.default_rng(0).normal(size=200_000)
    assert waveform_features(x, 1000.0, ())["kurtosis"] == pytest.approx(3.0, abs=0.05)
    x[::1000] = 12.0
    assert waveform_features(x, 1000.0, ())["kurtosis"] > 5


def test_temperature_residual_and_rate_of_rise() -> None:
    ts = np.array([0.0, 60.0, 120.0, 180.0])
    temp = np.array([22.0, 22.4, 22.8, 23.2])  # +0.4 C/min
    got = temperature_features(ts, temp, expected=21.0)
    assert got["residual"] == pytest.approx(2.2)
    assert got["rate_of_rise"] == pytest.approx(0.4)
    assert rate_of_rise(np.array([5.0]), np.array([1.0])) is None
    assert temperature_features(ts, np.full(4, np.nan), 21.0) == {}


def test_door_open_durations_pair_each_opening_with_its_closing() -> None:
    ts = np.array([0.0, 2.0, 5.0, 9.0, 10.0, 14.0, 20.0])
    st = np.array([1.0, 0.0, 1.0, 0.0, 1.0, np.nan, 0.0])  # starts open: first close unpaired
    assert door_open_durations(ts, st).tolist() == [4.0, 10.0]


def test_trips_from_counter_with_reset_and_from_moving_flag() -> None:
    assert count_trips(np.array([10.0, 12.0, 15.0, 0.0, 2.0]), counter=True) == 7
    assert count_trips(np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0]), counter=False) == 2


def test_window_features_ignore_unknown_metrics() -> None:
    ts = np.arange(4.0) * 60
    series = {
        "vibration.rms": (ts, np.array([1.0, 2.0, 3.0, np.nan])),
        "bearing_temp": (ts, np.array([40.0, 41.0, 42.0, 43.0])),
        "door_close_time": (ts, np.array([3.0, 5.0, 4.0, 4.0])),
        "mystery": (ts, np.ones(4)),
    }
    wf = window_features(series, expected_temperature={"bearing_temp": 40.0})
    assert wf.ignored == ("mystery",)
    assert wf.values["rms_mean"] == pytest.approx(2.0)
    assert wf.values["rms_peak"] == 3.0
    assert wf.values["bearing_temp_residual"] == pytest.approx(3.0)
    assert wf.values["bearing_temp_rate_of_rise"] == pytest.approx(1.0)
    assert wf.values["door_close_s"] == pytest.approx(4.0)
    assert "mystery" not in " ".join(wf.values)


@pytest.mark.parametrize("n", [1, 2, 7, 100])
def test_series_p95_matches_numpy_linear_percentile(n: int) -> None:
    v = np.random.default_rng(n).normal(size=n)
    got = series_features(v)
    assert got["p95"] == pytest.approx(float(np.percentile(v, 95)))
    assert got["peak"] == v.max()
    assert got["mean"] == pytest.approx(v.mean())
