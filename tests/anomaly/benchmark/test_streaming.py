from __future__ import annotations

import numpy as np
from gatewatch.anomaly.benchmark.streaming import (
    RelativeEntropyDetector,
    StreamDetector,
    score_stream,
)


def test_stream_detector_is_causal_and_flags_a_level_shift_once() -> None:
    x = np.random.default_rng(0).normal(10, 0.5, 1500)
    x[1000:] += 6
    s = score_stream(x, StreamDetector(learning=300))
    assert (s[:300] == 0).all()
    assert s[1000:1010].max() >= 0.5
    assert (s >= 0.5).sum() <= 3  # one report, then quiet
    prefix = score_stream(x[:1005], StreamDetector(learning=300))
    np.testing.assert_array_equal(prefix, s[:1005])  # no look-ahead


def test_stream_detector_survives_nan_and_constant_series() -> None:
    x = np.full(800, 3.0)
    x[::50] = np.nan
    s = score_stream(x, StreamDetector(learning=100))
    assert np.isfinite(s).all()
    assert (s < 0.5).all()


def test_relative_entropy_flags_a_new_distribution_and_accepts_a_known_one() -> None:
    rng = np.random.default_rng(1)
    x = np.r_[rng.uniform(0, 2, 400), rng.uniform(8, 10, 100), rng.uniform(0, 2, 400)]
    s = score_stream(x, RelativeEntropyDetector(0.0, 10.0))
    assert (s[:52] == 0).all()  # first window: no hypothesis to compare with
    assert s[400:460].max() == 1.0  # unseen histogram
    assert s[700:].sum() == 0  # back to the first, well-known hypothesis
    flat = score_stream(np.ones(100), RelativeEntropyDetector(1.0, 1.0))
    assert (flat == 0).all()  # no value range: never anomalous
