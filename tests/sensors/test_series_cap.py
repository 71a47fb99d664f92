"""Series per asset and in total are capped (issue 18): 25 messages of 2000 distinct
keys to one unknown asset used to create 50,000 series."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gatewatch.core.yamlsource import ConfigError
from gatewatch.daemon.config.load import load_config
from gatewatch.daemon.run.ingest_stage import build_ingest
from gatewatch.sensors.cardinality import SeriesCap
from gatewatch.sensors.decode import PayloadDecoder
from gatewatch.sensors.store.sqlite import SqliteStore
from gatewatch.sensors.topics import TopicPattern
from structlog.testing import capture_logs

from tests.sensors.test_decode import ASSETS, NOW


def capped(per_asset: int = 100, total: int = 1000) -> PayloadDecoder:
    return PayloadDecoder(
        [TopicPattern.parse("building/{site}/{asset}/{metric}"), TopicPattern.parse("dev/{asset}")],
        ASSETS,
        default_site="hq",
        max_payload_bytes=1 << 20,
        series_cap=SeriesCap(ASSETS, per_asset=per_asset, total=total),
    )


def flood(n_keys: int, start: int = 0) -> bytes:
    return json.dumps({"ts": NOW - 1, **{f"k{start + i}": 1.0 for i in range(n_keys)}}).encode()


def test_a_flood_of_keys_stops_at_the_asset_cap_with_one_dead_letter_a_message() -> None:
    dec = capped()
    assert dec.cap is not None
    with capture_logs() as logs:
        results = [dec.decode(b"dev/intruder", flood(2000, 2000 * m), NOW) for m in range(25)]
    assert sum(len(d.readings) for d in results) == 100
    assert len(dec.cap.known) == 100 and dec.cap.refused == 50_000 - 100
    assert all(len(d.rejections) == 1 for d in results)
    first = results[0].rejections[0]
    assert first.reason == "too_many_series" and first.detail.startswith("1900 reading(s)")
    assert "ingest.max_series_per_asset" in first.detail and "asset 'intruder'" in first.detail
    assert [e["event"] for e in logs].count("series_cap_reached") == 1  # one warning
    again = dec.decode(b"dev/intruder", flood(5), NOW)  # the admitted ones still flow
    assert len(again.readings) == 5 and again.rejections == []


def test_the_total_cap_counts_every_asset_and_declared_metrics_always_pass() -> None:
    dec = capped(per_asset=100, total=150)
    for a in range(3):
        dec.decode(f"dev/room-{a}".encode(), flood(60), NOW)
    assert dec.cap is not None and len(dec.cap.known) == 150
    d = dec.decode(b"building/hq/srv-1/temperature", b"21.5", NOW)  # declared in assets.yaml
    assert len(d.readings) == 1 and d.rejections == []
    d = dec.decode(b"building/hq/srv-1/humidity", b"40", NOW)  # not declared: over the total
    assert d.readings == [] and "ingest.max_series" in d.rejections[0].detail
    assert "the daemon has 150 series" in d.rejections[0].detail


def test_the_caps_are_settings_and_the_daemon_builds_its_decoder_with_them(
    tmp_path: Path,
) -> None:
    (tmp_path / "assets.yaml").write_text("assets: {}\n")
    cfg_path = tmp_path / "gatewatch.yaml"
    cfg_path.write_text("state_dir: s\ningest: {max_series: 10, max_series_per_asset: 3}\n")
    cfg = load_config(cfg_path)
    assert (cfg.ingest.max_series, cfg.ingest.max_series_per_asset) == (10, 3)
    store = SqliteStore(tmp_path / "r.db", tmp_path / "s.db")
    try:
        cap = build_ingest(cfg, store, []).decoder.cap
    finally:
        store.close()
    assert cap is not None and (cap.total, cap.per_asset) == (10, 3)
    cfg_path.write_text("state_dir: s\ningest: {max_series: 0}\n")
    with pytest.raises(ConfigError, match=r"ingest\.max_series must be >= 1"):
        load_config(cfg_path)
