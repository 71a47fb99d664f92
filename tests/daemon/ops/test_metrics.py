"""daemon/ops/metrics.py: what the collector reads, and plug-in gauges."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from typing import Any

from gatewatch.daemon.ops.health import BrokerLink, CheckResult, HealthReport
from gatewatch.daemon.ops.metrics import MetricSources, ReloadStats, build_registry
from gatewatch.sensors.ingest import IngestStats
from prometheus_client import generate_latest


def sources() -> MetricSources:
    stats = IngestStats(messages=7, readings_durable=9, messages_durable=6, pending=1)
    stats.dead_letters["bad_json"] += 2
    stats.dead_letters["conflict"] += 1
    stats.duplicates = 5
    stats.backlog_readings = 11
    decoder = SimpleNamespace(fates=Counter({"mapped": 8, "rejected": 1}))
    writer = SimpleNamespace(commits=3, failures=4, failure_reasons={"disk_full": 3, "locked": 1})
    ingest: Any = SimpleNamespace(stats=stats, writer=writer, decoder=decoder)
    report = HealthReport((CheckResult("broker", False, "down"), CheckResult("store", True, "")))
    return MetricSources(ingest, BrokerLink(), lambda: report, ReloadStats(2, 1))


def scrape(src: MetricSources) -> dict[str, float]:
    out = {}
    for line in generate_latest(build_registry(src)).decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_collector_reads_the_pipeline_at_scrape_time() -> None:
    src = sources()
    m = scrape(src)
    assert m["gatewatch_mqtt_messages_received_total"] == 7
    assert m["gatewatch_readings_stored_total"] == 9
    assert m['gatewatch_dead_letters_total{reason="bad_json"}'] == 2
    assert m['gatewatch_readings_total{fate="stored"}'] == 9
    assert m['gatewatch_readings_total{fate="duplicate"}'] == 5
    assert m['gatewatch_readings_total{fate="conflict"}'] == 1
    assert m["gatewatch_readings_backlog_total"] == 11
    assert m['gatewatch_store_write_failures_total{reason="disk_full"}'] == 3
    assert m['gatewatch_store_write_failures_total{reason="locked"}'] == 1
    assert m['gatewatch_store_write_failures_total{reason="io_error"}'] == 0  # there from start
    assert m['gatewatch_mapped_fields_total{fate="mapped"}'] == 8
    assert m['gatewatch_mapped_fields_total{fate="rejected"}'] == 1
    assert m['gatewatch_mapped_fields_total{fate="unmapped"}'] == 0
    assert m['gatewatch_health_check_ok{check="broker"}'] == 0
    assert m['gatewatch_health_check_ok{check="store"}'] == 1
    assert m["gatewatch_healthy"] == 0
    assert m['gatewatch_config_reloads_total{result="success"}'] == 2
    assert m['gatewatch_config_reloads_total{result="failure"}'] == 1
    src.ingest.stats.messages += 5
    src.link("up", {})
    m = scrape(src)
    assert m["gatewatch_mqtt_messages_received_total"] == 12
    assert m["gatewatch_mqtt_connected"] == 1


def test_plugged_in_gauges_unknown_and_broken_ones_left_out() -> None:
    src = sources()
    lag = [None, 4.5]

    def broken() -> float:
        raise ZeroDivisionError

    src.gauges["gatewatch_store_forward_lag_seconds"] = ("age of the oldest unsent", lag.pop)
    src.gauges["gatewatch_outbox_depth"] = ("pending ticket actions", broken)
    m = scrape(src)
    assert m["gatewatch_store_forward_lag_seconds"] == 4.5
    assert "gatewatch_outbox_depth" not in m
    m = scrape(src)
    assert "gatewatch_store_forward_lag_seconds" not in m  # None: not known yet
    assert m["gatewatch_readings_stored_total"] == 9  # the rest of the scrape still works
