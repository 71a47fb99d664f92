"""Metrics and the outbox health check of the later stages: rules and ticketing.

The histograms the stages observe into are made first (``instruments``) and
given to the stages at construction; once the stages exist, ``register`` puts
on the registry a collector that reads, at scrape time, the outbox and
incident tables of state.db through its own read-only connection (the HTTP
thread never takes the event loop's lock), the worker's delivery counters and
the rules stage's counts, then the histograms of rule evaluation time and of
time to acknowledge. ``outbox_check`` is the /healthz check that fails when
the oldest deliverable action has waited longer than ``stuck_after``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from gatewatch.daemon.config.load import Config
from gatewatch.daemon.ops.health import CheckResult, HealthCheck
from gatewatch.daemon.run.rules_stage import RulesStage
from gatewatch.daemon.run.tickets_stage import TicketsStage
from gatewatch.ticketing_client.outbox import Ack
from gatewatch.ticketing_client.worker import WorkerStats
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

STUCK_AFTER = 900.0  # seconds: an outbox action older than this fails /healthz (tickets:)
EVAL_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
# seconds from a ticket's opening to a person taking it: P1 SLAs are minutes (the server
# room escalates after 7), P3/P4 days (a predictive ticket is planned work)
MINUTE, HOUR, DAY = 60.0, 3600.0, 86_400.0
ACK_BUCKETS = (
    *(m * MINUTE for m in (1, 2, 5, 7, 10, 15, 30)),
    *(h * HOUR for h in (1, 2, 4, 8, 24)),
    *(d * DAY for d in (2, 3, 7)),
)

# the head (oldest undelivered) action of each incident; a pending head is deliverable,
# the actions queued behind a parked head are not
_HEADS = (
    "SELECT state, created FROM ticket_outbox WHERE id IN (SELECT MIN(id) FROM ticket_outbox"
    " WHERE state IN ('pending', 'parked') GROUP BY incident_key)"
)


@dataclass(frozen=True, slots=True)
class OutboxFigures:
    pending: int  # actions waiting for delivery (all incidents)
    parked: int  # actions the desk refused, waiting for an operator
    oldest_created: float | None  # the oldest deliverable (pending head) action
    open_by_priority: dict[int, int]  # incidents firing or cleared, ticket open
    past_sla_by_priority: dict[int, int]  # firing, unacknowledged, first SLA level passed


def read_figures(state_db: Path) -> OutboxFigures:
    with closing(sqlite3.connect(f"file:{state_db}?mode=ro", uri=True, timeout=1.0)) as db:
        states = dict(db.execute("SELECT state, COUNT(*) FROM ticket_outbox GROUP BY state"))
        oldest = db.execute(
            f"SELECT MIN(created) FROM ({_HEADS}) WHERE state = 'pending'"  # noqa: S608
        ).fetchone()[0]
        opened = db.execute(
            "SELECT priority, COUNT(*) FROM ticket_incidents WHERE status != 'resolved'"
            " GROUP BY priority"
        )
        late = db.execute(
            "SELECT priority, COUNT(*) FROM ticket_incidents WHERE status = 'firing'"
            " AND acknowledged = 0 AND escalation_level > 0 GROUP BY priority"
        )
        return OutboxFigures(
            pending=int(states.get("pending", 0)),
            parked=int(states.get("parked", 0)),
            oldest_created=None if oldest is None else float(oldest),
            open_by_priority=dict(opened),
            past_sla_by_priority=dict(late),
        )


class OutboxHealth:
    """/healthz ``outbox``: not stuck while its oldest deliverable action is recent."""

    def __init__(
        self,
        state_db: Path,
        stuck_after: float = STUCK_AFTER,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state_db, self.stuck_after, self.clock = state_db, stuck_after, clock

    def check(self) -> CheckResult:
        try:
            f = read_figures(self.state_db)
        except sqlite3.Error as exc:
            return CheckResult("outbox", False, f"{self.state_db}: cannot read: {exc}")
        parked = f" ({f.parked} parked: see `gatewatch outbox list`)" if f.parked else ""
        age = 0.0 if f.oldest_created is None else max(0.0, self.clock() - f.oldest_created)
        if age > self.stuck_after:
            detail = (
                f"ticket outbox {self.state_db} stuck: oldest deliverable action waiting"
                f" {age:.0f}s (limit {self.stuck_after:.0f}s), {f.pending} pending{parked}"
            )
            return CheckResult("outbox", False, detail)
        return CheckResult("outbox", True, f"{f.pending} pending{parked}")


class StageCollector(Collector):
    def __init__(
        self,
        state_db: Path,
        adapter: str,
        worker: Callable[[], WorkerStats],
        rules: RulesStage,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state_db, self.adapter, self.worker = state_db, adapter, worker
        self.rules, self.clock = rules, clock

    def collect(self) -> Iterator[Metric]:
        yield from self._alerts()
        yield from self._deliveries()
        try:
            figures = read_figures(self.state_db)
        except sqlite3.Error:
            return  # the outbox health check names the problem
        yield from self._outbox(figures)

    def _alerts(self) -> Iterator[Metric]:
        alerts = GaugeMetricFamily(
            "gatewatch_alerts", "alert instances pending or firing", labels=["state"]
        )
        for state, count in sorted(self.rules.alert_counts.items()):
            alerts.add_metric([state], count)
        yield alerts
        events = CounterMetricFamily(
            "gatewatch_alert_events", "alert events emitted by the rules", labels=["kind"]
        )
        for kind, count in sorted(self.rules.event_counts.items()):
            events.add_metric([kind], count)
        yield events
        clock = self.rules.clock_report.totals
        yield CounterMetricFamily(
            "gatewatch_out_of_order",
            "readings the rules dropped: older than their series' latest by less than 5 min",
            value=clock["out_of_order"],
        )
        yield CounterMetricFamily(
            "gatewatch_clock_steps",
            "clock steps of 5 min or more: a series' time going back (its rule history"
            " started over) or the gateway clock either way (the rules' timers moved)",
            value=clock["clock_steps"],
        )

    def _deliveries(self) -> Iterator[Metric]:
        stats = self.worker()
        done = CounterMetricFamily(
            "gatewatch_ticket_actions_delivered",
            "ticket actions the desk accepted (create, update, escalate, resolve, reopen)",
            labels=["adapter", "kind"],
        )
        for kind, count in sorted(stats.by_kind.items()):
            done.add_metric([self.adapter, kind], count)
        yield done
        failed = CounterMetricFamily(
            "gatewatch_ticket_action_failures",
            "failed delivery attempts: retried later or parked for an operator",
            labels=["adapter", "result"],
        )
        failed.add_metric([self.adapter, "retried"], stats.retried)
        failed.add_metric([self.adapter, "parked"], stats.parked)
        yield failed
        files = CounterMetricFamily(
            "gatewatch_ticket_attachments",
            "files of delivered creates (trend plots): sent, unsupported by the desk (the"
            " ticket text says so) or failed (the ticket went without them)",
            labels=["adapter", "outcome"],
        )
        for outcome in ("sent", "unsupported", "failed"):
            files.add_metric([self.adapter, outcome], stats.attachments.get(outcome, 0))
        yield files
        escalations = CounterMetricFamily(
            "gatewatch_ticket_escalations",
            "escalations delivered to the desk (SLA levels and engine escalations), by rule",
            labels=["adapter", "rule"],
        )
        for rule, count in sorted(stats.escalations_by_rule.items()):
            escalations.add_metric([self.adapter, rule], count)
        yield escalations

    def _outbox(self, f: OutboxFigures) -> Iterator[Metric]:
        age = 0.0 if f.oldest_created is None else max(0.0, self.clock() - f.oldest_created)
        yield GaugeMetricFamily(
            "gatewatch_outbox_pending", "ticket actions waiting for delivery", value=f.pending
        )
        yield GaugeMetricFamily(
            "gatewatch_outbox_parked", "ticket actions parked for an operator", value=f.parked
        )
        yield GaugeMetricFamily(
            "gatewatch_outbox_oldest_age_seconds",
            "age of the oldest deliverable ticket action (0 when none)",
            value=age,
        )
        yield _by_priority(
            "gatewatch_tickets_open", "incidents with an open ticket", f.open_by_priority
        )
        yield _by_priority(
            "gatewatch_tickets_past_sla",
            "firing, unacknowledged incidents past their first SLA level",
            f.past_sla_by_priority,
        )


def _by_priority(name: str, help_text: str, counts: dict[int, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, help_text, labels=["priority"])
    for priority in (1, 2, 3, 4):
        family.add_metric([f"P{priority}"], counts.get(priority, 0))
    return family


def ack_histogram(registry: CollectorRegistry) -> Callable[[Ack], None]:
    """The time-to-acknowledge histogram by priority, on ``registry``; returns its observer."""
    histogram = _ack_histogram()
    registry.register(histogram)
    return lambda ack: _observe_ack(histogram, ack)


@dataclass(frozen=True, slots=True)
class StageInstruments:
    """What the stages observe into, made before them and registered after them."""

    evaluations: Histogram  # seconds per rule evaluation: RulesStage's eval observer
    acks: Histogram  # time to acknowledge: the tickets worker's ack observer

    def observe_ack(self, ack: Ack) -> None:
        _observe_ack(self.acks, ack)


def instruments() -> StageInstruments:
    evaluations = Histogram(
        "gatewatch_rule_evaluation_seconds",
        "time of one rule engine evaluation (a batch of readings or a tick)",
        registry=None,
        buckets=EVAL_BUCKETS,
    )
    return StageInstruments(evaluations, _ack_histogram())


def register(
    registry: CollectorRegistry,
    instruments: StageInstruments,
    tickets: TicketsStage,
    rules: RulesStage,
    clock: Callable[[], float] = time.time,
) -> None:
    """The rules' and ticketing figures on /metrics."""
    worker, state_db = tickets.worker, tickets.state_db
    registry.register(StageCollector(state_db, tickets.backend, lambda: worker.stats, rules, clock))
    registry.register(instruments.evaluations)
    registry.register(instruments.acks)


def events_check(rules: RulesStage) -> tuple[str, HealthCheck]:
    """Fails while alert events wait in memory for an outbox commit that failed (state.db
    on a full disk): the broker and the store may be fine, the tickets are not."""

    def check() -> CheckResult:
        runtime = rules.runtime
        waiting = len(runtime.unsent) if runtime is not None else 0
        if not waiting:
            return CheckResult("events", True, "every alert event is in the outbox")
        error = runtime.outbox_error if runtime is not None else None
        detail = f"{waiting} alert events wait for a failed outbox commit: {error}"
        return CheckResult("events", False, detail)

    return ("events", check)


def outbox_check(cfg: Config, clock: Callable[[], float] = time.time) -> tuple[str, HealthCheck]:
    return ("outbox", OutboxHealth(cfg.state_db, cfg.tickets.stuck_after, clock).check)


def _ack_histogram() -> Histogram:
    """Like every counter it starts empty at each start (Prometheus' rate() and
    histogram_quantile() over increase() handle the reset); acknowledgements
    recorded before a restart stay in state.db (``acknowledged_at``).
    """
    histogram = Histogram(
        "gatewatch_ticket_time_to_acknowledge_seconds",
        "from a ticket's opening (or reopening) to a person taking it at the desk, by the"
        " incident's priority then",
        ["priority"],
        registry=None,
        buckets=ACK_BUCKETS,
    )
    for priority in (1, 2, 3, 4):  # every priority present from the start, at zero
        histogram.labels(f"P{priority}")
    return histogram


def _observe_ack(histogram: Histogram, ack: Ack) -> None:
    histogram.labels(f"P{ack.priority}").observe(ack.seconds)
