"""Prometheus metrics of the running daemon, read from the pipeline at scrape time.

Nothing on the ingest hot path touches a metric: a collector reads the
counters the stages keep anyway (``Ingest.stats``, the store writer, the
broker link) when Prometheus scrapes. Later stages (forwarder, outbox,
rules) plug in a gauge with ``MetricSources.gauges`` without touching this
module's callers.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING

import structlog
from gatewatch.daemon.ops.health import BrokerLink, HealthReport
from gatewatch.sensors.ingest import Ingest
from gatewatch.sensors.mapping.apply import FATES
from gatewatch.sensors.store.errors import REASONS
from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from gatewatch.sensors.store.base import ForwardLag

log = structlog.get_logger("gatewatch.metrics")
GaugeHook = Callable[[], float | None]


@dataclass
class ReloadStats:
    """SIGHUP reload outcomes, kept by the reloader."""

    successes: int = 0
    failures: int = 0
    last_error: str = ""


@dataclass
class MetricSources:
    ingest: Ingest
    link: BrokerLink
    health: Callable[[], HealthReport]
    reloads: ReloadStats = field(default_factory=ReloadStats)
    # name -> (help, value); a hook returning None (not known yet) is left out
    gauges: dict[str, tuple[str, GaugeHook]] = field(default_factory=dict)
    # the store-and-forward figures; None while forwarding is off
    forward: Callable[[], ForwardLag | None] = lambda: None


def build_info() -> dict[str, str]:
    try:
        version = metadata.version("gatewatch")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {"version": version, "python": platform.python_version()}


class PipelineCollector(Collector):
    def __init__(self, sources: MetricSources) -> None:
        self.src = sources

    def collect(self) -> Iterator[Metric]:
        yield InfoMetricFamily("gatewatch_build", "gatewatch version", value=build_info())
        yield from self._ingest()
        yield from self._broker()
        yield from self._health()
        yield from self._reloads()
        yield from self._forward()
        yield from self._hooks()

    def _ingest(self) -> Iterator[Metric]:
        stats = self.src.ingest.stats
        writer = self.src.ingest.writer
        yield _counter("mqtt_messages_received", "MQTT messages received", stats.messages)
        yield _counter(
            "messages_stored", "messages whose readings are durable", stats.messages_durable
        )
        yield _counter("readings_stored", "readings committed to the store", stats.readings_durable)
        fates = CounterMetricFamily(
            "gatewatch_readings",
            "decoded readings by what the store made of them (a conflict is a dead letter)",
            labels=["fate"],
        )
        fates.add_metric(["stored"], stats.readings_durable)
        fates.add_metric(["duplicate"], stats.duplicates)
        fates.add_metric(["conflict"], stats.dead_letters.get("conflict", 0))
        yield fates
        yield _counter(
            "readings_backlog",
            "readings without a payload time in a resumed session's backlog (timed at delivery)",
            stats.backlog_readings,
        )
        dead = CounterMetricFamily(
            "gatewatch_dead_letters", "refused payloads or metrics, by reason", labels=["reason"]
        )
        for reason, count in sorted(stats.dead_letters.items()):
            dead.add_metric([reason], count)
        yield dead
        fates = CounterMetricFamily(
            "gatewatch_mapped_fields",
            "fields of messages a mapping decoded, by fate (mapped, rejected, ignored, unmapped)",
            labels=["fate"],
        )
        for fate in FATES:
            fates.add_metric([fate], self.src.ingest.decoder.fates[fate])
        yield fates
        yield _gauge("ingest_pending_messages", "messages waiting for the store", stats.pending)
        yield _counter("ingest_pauses", "times reading from the broker paused", stats.pauses)
        yield _counter("store_commits", "store transactions committed", writer.commits)
        failures = CounterMetricFamily(
            "gatewatch_store_write_failures",
            "failed store write attempts (retried), by reason: disk_full, io_error, read_only,"
            " locked, corrupt, cannot_open, other",
            labels=["reason"],
        )
        for reason in REASONS:  # every reason from the start, at zero
            failures.add_metric([reason], writer.failure_reasons.get(reason, 0))
        yield failures

    def _broker(self) -> Iterator[Metric]:
        link = self.src.link
        yield _gauge("mqtt_connected", "1 while connected to the broker", int(link.connected))
        yield _counter("mqtt_connections", "successful broker connections", link.connects)
        stats = link.stats
        yield _counter(
            "mqtt_session_takeovers",
            "times the broker gave our session to another client (DISCONNECT 0x8E)",
            stats.takeovers,
        )
        yield _gauge(
            "mqtt_session_flapping",
            "1 while connections keep ending right after CONNACK (duplicate client id?)",
            int(stats.flapping),
        )
        violations = CounterMetricFamily(
            "gatewatch_mqtt_protocol_violations",
            "packets from the broker that break the MQTT specification, by kind",
            labels=["kind"],
        )
        for kind, count in sorted(stats.violations.items()):
            violations.add_metric([kind], count)
        yield violations
        yield _gauge(
            "mqtt_keepalive_seconds",
            "keepalive in use (the broker's if it set one)",
            stats.keepalive,
        )

    def _health(self) -> Iterator[Metric]:
        report = self.src.health()
        ok = GaugeMetricFamily(
            "gatewatch_health_check_ok", "1 when the check passes", labels=["check"]
        )
        for check in report.checks:
            ok.add_metric([check.name], int(check.ok))
        yield ok
        yield _gauge("healthy", "1 when /healthz answers 200", int(report.ok))

    def _reloads(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "gatewatch_config_reloads", "SIGHUP configuration reloads", labels=["result"]
        )
        family.add_metric(["success"], self.src.reloads.successes)
        family.add_metric(["failure"], self.src.reloads.failures)
        yield family

    def _forward(self) -> Iterator[Metric]:
        lag = self.src.forward()
        if lag is None:
            return
        yield _gauge("store_forward_queued", "readings waiting to be forwarded", lag.queued)
        yield _gauge(
            "store_forward_lag_seconds", "age of the next reading to forward", lag.oldest_age_s
        )
        yield _counter("store_forward_sent", "readings the server accepted", lag.sent)
        yield _counter("store_forward_failures", "failed forwarding attempts", lag.failures)
        yield _gauge("store_forward_parked", "readings the server refused, set aside", lag.parked)
        if lag.last_success is not None:
            yield _gauge(
                "store_forward_last_success_timestamp_seconds",
                "when the server last accepted a write",
                lag.last_success,
            )

    def _hooks(self) -> Iterator[Metric]:
        for name, (help_text, hook) in sorted(self.src.gauges.items()):
            try:
                value = hook()
            except Exception:  # a broken plug-in must not break the whole scrape
                log.exception("metric_hook_failed", metric=name)
                continue
            if value is not None:
                yield GaugeMetricFamily(name, help_text, value=value)


def _counter(name: str, help_text: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(f"gatewatch_{name}", help_text, value=value)


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"gatewatch_{name}", help_text, value=value)


def build_registry(sources: MetricSources) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PipelineCollector(sources))
    return registry
