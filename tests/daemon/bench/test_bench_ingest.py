"""`gatewatch bench ingest` end to end on a small stream: a correctness smoke test.

No timing assertions (performance lives in the benchmark's own output); this
checks that the benchmark runs against real mosquitto, that its --json keys
are the documented ones, and that gatewatch stored exactly what was published.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest
from gatewatch.daemon.bench import stream as bs
from gatewatch.daemon.bench.consumer import percentile
from gatewatch.daemon.commands.main import main

pytestmark = pytest.mark.skipif(
    shutil.which("mosquitto") is None and shutil.which("/usr/sbin/mosquitto") is None,
    reason="mosquitto is not installed (scripts/setup installs it)",
)

TOP_KEYS = {
    "benchmark", "readings", "series", "publishers", "synchronous", "receive_maximum", "broker",
    "runs",
    "rss_run", "mapped_run", "sparkplug_run", "goals",
}  # fmt: skip
RATE_KEYS = {"published", "lost", "seconds", "readings_per_s"}
GATEWATCH_KEYS = RATE_KEYS | {
    "stored", "dead_letters", "commits", "pauses", "peak_rss_mib", "ratio",
}  # fmt: skip
LATENCY_KEYS = {"target_rate_per_s", "published", "stored", "lost", "p50_ms", "p99_ms", "max_ms"}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code = main(["bench", "ingest", *argv, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    report: dict[str, Any] = json.loads(out)
    return report


@pytest.mark.slow
def test_small_bench_stores_exactly_what_was_published(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = _run(
        capsys, "--readings=4000", "--series=50", "--rss-series=300", "--latency-seconds=1",
        "--compare",
    )  # fmt: skip
    assert set(report) == TOP_KEYS
    assert [row["qos"] for row in report["runs"]] == [0, 1]
    for row in report["runs"]:
        extra = {"mqtt311", "window1"} if row["qos"] else set()
        assert set(row) == {"qos", "limit", "gatewatch", "paho", "latency"} | extra
        assert set(row["limit"]) == RATE_KEYS | {"received"}
        assert set(row["gatewatch"]) == GATEWATCH_KEYS
        assert set(row["latency"]) == LATENCY_KEYS
        assert row["gatewatch"]["published"] == 4000
        assert row["gatewatch"]["dead_letters"] == 0
        assert row["gatewatch"]["readings_per_s"] > 0
        assert row["latency"]["p99_ms"] is not None
    q1 = report["runs"][1]
    assert q1["gatewatch"]["lost"] == 0
    assert q1["gatewatch"]["stored"] == q1["gatewatch"]["published"]
    assert q1["latency"]["lost"] == 0
    assert q1["latency"]["stored"] == q1["latency"]["published"]
    assert q1["limit"]["received"] == 4000
    assert set(q1["mqtt311"]) == GATEWATCH_KEYS
    assert q1["mqtt311"]["stored"] == 4000 and q1["mqtt311"]["lost"] == 0
    assert q1["window1"]["stored"] == q1["window1"]["published"] == 4000
    assert q1["window1"]["paced_lost"] == 0 and q1["window1"]["ack_p99_ms"] is not None
    assert report["rss_run"]["series"] == 300
    assert report["rss_run"]["lost"] == 0
    assert report["rss_run"]["stored"] == 4000
    for key, shape in (("mapped_run", "mapped"), ("sparkplug_run", "sparkplug")):
        run = report[key]
        assert (run["qos"], run["shape"]) == (1, shape)
        want = RATE_KEYS | {"stored", "dead_letters", "ratio", "peak_rss_mib"}
        assert set(run["gatewatch"]) == want
        assert run["limit"]["received"] == 4000
        assert run["gatewatch"]["stored"] == 4000 and run["gatewatch"]["dead_letters"] == 0
    assert set(report["goals"]) == {
        "qos0_ratio", "qos0_p99_ms", "qos1_ratio", "qos1_p99_ms", "peak_rss_mib",
        "qos1_mqtt311_ratio", "window1_readings_per_s", "window1_ack_p99_ms",
    }  # fmt: skip


def test_bad_options_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "ingest", "--readings=0"]) == 2
    assert "--readings" in capsys.readouterr().err


def test_stream_shares_cover_every_reading_once() -> None:
    spec = bs.StreamSpec(readings=1003, series=37, publishers=4, t0_ms=0)
    shares = [list(spec.share(p)) for p in range(4)]
    assert sorted(k for share in shares for k in share) == list(range(1003))
    assert [len(s) for s in shares] == [spec.share_size(p) for p in range(4)]
    for p, share in enumerate(shares):  # one publisher per series
        assert {k % 37 % 4 for k in share} == {p}


def test_publish_packet_matches_mqtt_layout() -> None:
    pkt = bs.encode_publish(b"a/b", b"1.5", qos=1, packet_id=7)
    assert pkt == b"\x32\x0a\x00\x03a/b\x00\x071.5"
    assert bs.encode_publish(b"t", b"x", qos=0, packet_id=0) == b"\x30\x04\x00\x01tx"
    assert bs.packet_id(0) == 1
    assert bs.packet_id(65_534) == 65_535
    assert bs.packet_id(65_535) == 1


def test_payload_carries_whole_milliseconds() -> None:
    assert (
        bs.payload(-12.5, 1_732_400_000_007) == b'{"value":-12.50,"ts":1732400000.007,"unit":"C"}'
    )


def test_the_mapped_shape_decodes_to_the_same_reading() -> None:
    from gatewatch.daemon.bench.consumer import _mappings
    from gatewatch.sensors.decode import PayloadDecoder

    decoder = PayloadDecoder(
        [], bs.registry(16), default_site=bs.SITE, mappings=_mappings("mapped")
    )
    topic, payload = bs.topic(11, "mapped"), bs.payload_of("mapped", 11, -12.5, 1_732_400_000_007)
    assert (topic, payload) == (b"zigbee2mqtt/a1", b'{"m3":-12.50,"last_seen":1732400000007}')
    (reading,) = decoder.decode(topic, payload, 1_732_400_001.0).readings
    assert (reading.asset, reading.metric, reading.value, reading.unit) == ("a1", "m3", -12.5, "C")
    assert reading.ts == 1_732_400_000.007


def test_the_sparkplug_shape_decodes_to_the_same_reading() -> None:
    from gatewatch.sensors.decode import PayloadDecoder

    decoder = PayloadDecoder([], bs.registry(16), default_site=bs.SITE, sparkplug=True)
    topic = bs.topic(11, "sparkplug")
    payload = bs.payload_of("sparkplug", 11, -12.5, 1_732_400_000_007)
    assert topic == b"spBv1.0/bench/DDATA/edge/a1"
    (reading,) = decoder.decode(topic, payload, 1_732_400_001.0).readings
    assert (reading.asset, reading.metric, reading.value, reading.unit) == ("a1", "m3", -12.5, "C")
    assert reading.ts == 1_732_400_000.007


def test_percentile_nearest_rank() -> None:
    assert percentile([], 99) is None
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0
