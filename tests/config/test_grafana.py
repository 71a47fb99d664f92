"""config/grafana/gatewatch.json: imports cleanly and only charts metrics gatewatch exposes."""

from __future__ import annotations

import itertools
import json
import re
import tempfile
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from gatewatch.daemon.ops.health import BrokerLink, CheckResult, HealthReport
from gatewatch.daemon.ops.metrics import MetricSources, build_registry
from gatewatch.daemon.run.clock_report import ClockReport
from gatewatch.daemon.run.stage_metrics import StageCollector, ack_histogram
from gatewatch.sensors.ingest import IngestStats
from gatewatch.sensors.store.base import ForwardLag
from gatewatch.ticketing_client.schema import connect_state
from gatewatch.ticketing_client.worker import WorkerStats
from prometheus_client import CollectorRegistry, Histogram, generate_latest

DASHBOARD = Path(__file__).parents[2] / "config" / "grafana" / "gatewatch.json"


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def exposed() -> set[str]:
    stats = IngestStats()
    stats.dead_letters["bad_json"] += 1
    writer = SimpleNamespace(commits=0, failures=0, failure_reasons={})
    decoder = SimpleNamespace(fates=Counter())
    ingest: Any = SimpleNamespace(stats=stats, writer=writer, decoder=decoder)
    report = HealthReport((CheckResult("store", True, ""),))
    src = MetricSources(ingest, BrokerLink(), lambda: report)
    src.forward = lambda: ForwardLag(0, 0.0, 1.0, 0, 0, 0, 0)
    text = generate_latest(build_registry(src)) + stage_metrics()
    return {
        line.split("{")[0].split(" ")[0] for line in text.decode().splitlines() if line[:1] != "#"
    }


def stage_metrics() -> bytes:
    """What daemon/run/stage_metrics.py adds: rules, outbox and ticket figures."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "state.db"
        connect_state(db).close()
        alerting: Any = SimpleNamespace(
            alert_counts={"firing": 1}, event_counts={"fired": 1}, clock_report=ClockReport()
        )
        stats = WorkerStats(by_kind={"create": 1}, escalations_by_rule={"r": 1})
        registry = CollectorRegistry()
        registry.register(StageCollector(db, "local", lambda: stats, alerting))
        Histogram("gatewatch_rule_evaluation_seconds", "", registry=registry).observe(0.01)
        ack_histogram(registry)
        return generate_latest(registry)


def exprs(d: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in d["panels"] for t in p.get("targets", [])]


def test_every_charted_gatewatch_metric_is_exposed() -> None:
    charted = {m for e in exprs(dashboard()) for m in re.findall(r"\bgatewatch_\w+", e)}
    assert charted, "no gatewatch metric charted"
    assert charted <= exposed(), charted - exposed()


def test_panels_have_unique_ids_and_do_not_overlap() -> None:
    panels = dashboard()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)

    def cells(p: dict[str, Any]) -> set[tuple[int, int]]:
        g = p["gridPos"]
        return {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }

    for a, b in itertools.combinations(panels, 2):
        assert not cells(a) & cells(b), f"{a['title']!r} overlaps {b['title']!r}"
        assert all(c[0] < 24 for c in cells(a))


def test_every_variable_used_is_defined_and_datasources_are_inputs() -> None:
    d = dashboard()
    defined = {v["name"] for v in d["templating"]["list"]} | {"__rate_interval"}
    text = json.dumps(d["panels"])
    used = set(re.findall(r"\$\{?(\w+)", text)) - {"DS_PROMETHEUS", "DS_SERIES"}
    assert used <= defined
    inputs = {i["name"] for i in d["__inputs"]}
    assert set(re.findall(r"\$\{(DS_\w+)\}", json.dumps(d))) == inputs
