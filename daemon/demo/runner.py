"""`gatewatch demo`: a private broker, a simulated building, the whole daemon.

The real pipeline (ingest, store, the shipped rules, anomaly, the local ticket
backend) runs on a simulated clock: one real second is one building minute,
so the incidents of DESIGN.md (rope break, cooling failure with escalation,
repeated door faults) play out in under a minute. Everything runs from
embedded defaults in a temporary directory and is gone when the demo ends.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import Path
from typing import Any

from gatewatch.core.events import AlertEvent
from gatewatch.core.reading import Reading
from gatewatch.daemon.config.load import Config, parse_config
from gatewatch.daemon.demo.broker import BrokerUnavailableError, LocalMosquitto
from gatewatch.daemon.demo.history import DEGRADING, PumpHistory, SeedReport, live_start, plan, seed
from gatewatch.daemon.demo.simulator import Publisher, frames
from gatewatch.daemon.ops.health import evaluate
from gatewatch.daemon.ops.httpserver import ObservabilityServer
from gatewatch.daemon.ops.logs import setup_logging
from gatewatch.daemon.ops.status_page import StatusPage
from gatewatch.daemon.run.pipeline import Pipeline, build_pipeline
from gatewatch.daemon.run.rules_stage import Alerting
from gatewatch.daemon.run.tickets_stage import TicketsStage
from gatewatch.sensors.ingest import Ingest
from prometheus_client import CollectorRegistry

DEMO_CONFIG = """
site: demo
state_dir: {state}
assets: {assets}
mqtt:
  port: {port}
  client_id: gatewatch-demo
  topics: ["building/{{site}}/{{asset}}/{{metric}}", "devices/{{site}}/{{asset}}"]
ingest: {{strict_assets: true}}
rules: {{paths: [{rules}], tick_every_s: 0.25}}
tickets: {{backend: local, sla_check_interval: 0.5}}
http: {{enabled: false}}
log: {{level: warning, format: console}}
"""
SPEED = 60.0  # simulated seconds per real second


class SimClock:
    """Building time: starts at ``start`` (now), runs SPEED times faster than the wall clock."""

    def __init__(self, speed: float = SPEED, start: float | None = None) -> None:
        self.start = time.time() if start is None else start
        self.t0, self.speed = time.monotonic(), speed

    def __call__(self) -> float:
        return self.start + (time.monotonic() - self.t0) * self.speed

    def minute(self) -> float:
        return (self() - self.start) / 60.0


@dataclass
class Tally:
    readings: int = 0
    last: dict[str, Reading] = field(default_factory=dict)
    per_series: Counter[str] = field(default_factory=Counter)

    def add(self, readings: list[Reading], _durable_at: float) -> None:
        self.readings += len(readings)
        for r in readings:
            name = f"{r.asset}/{r.metric}"
            self.last[name] = r
            self.per_series[name] += 1


def demo_config(workdir: Path, port: int) -> Config:
    defaults = files("gatewatch.daemon.demo").joinpath("defaults")
    text = DEMO_CONFIG.format(
        state=workdir / "state",
        assets=defaults.joinpath("demo_assets.yaml"),
        rules=defaults.joinpath("rules"),
        port=port,
    )
    return parse_config(text, "<demo>", base_dir=workdir, env={})


def run_demo(seconds: float, *, as_json: bool = False, http_port: int = 0) -> int:
    setup_logging("warning", "console")
    with tempfile.TemporaryDirectory(prefix="gatewatch-demo-") as tmp:
        workdir = Path(tmp)
        try:
            broker = LocalMosquitto(workdir).start()
        except BrokerUnavailableError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        try:
            summary = asyncio.run(
                _demo(demo_config(workdir, broker.port), seconds, as_json, http_port)
            )
        finally:
            broker.stop()
    if as_json:
        print(json.dumps(summary, indent=2))
    return 0


def _status_server(
    cfg: Config, alerting: Alerting, clock: SimClock, port: int
) -> ObservabilityServer | None:
    """The status page of `gatewatch run`, on 127.0.0.1:port while the demo runs."""
    page = StatusPage(
        cfg.site,
        cfg.assets,
        cfg.store.path,
        cfg.state_db,
        lambda: alerting.open_alerts,
        clock=clock,
    )
    try:
        server = ObservabilityServer(
            ("127.0.0.1", port), CollectorRegistry(), lambda: evaluate([]), {"/": page}
        )
    except OSError as exc:
        print(f"warning: no status page on 127.0.0.1:{port}: {exc}", file=sys.stderr)
        return None
    return server.start()


def _history(cfg: Config, say: Callable[[str], None]) -> tuple[PumpHistory, SeedReport]:
    """The weeks of pump history the live part continues (see demo_history)."""
    started = time.perf_counter()
    history = plan(cfg.site, live_start(time.time()), cfg.anomaly)
    planned = time.perf_counter() - started
    report = seed(cfg, history)
    say(
        f"{report.days} days of pump history simulated in {planned:.2f} s, seeded"
        f" ({report.readings} readings, rule state) in {report.seconds:.2f} s; {DEGRADING} is"
        f" wearing: its forecast tonight says zone C in {history.live_days_to_c:.0f} days"
    )
    return history, replace(report, plan_seconds=planned)


async def _demo(cfg: Config, seconds: float, quiet: bool, http_port: int = 0) -> dict[str, Any]:
    say: Callable[[str], None] = (lambda _s: None) if quiet else print
    history, seeded = _history(cfg, say)
    # building time starts a minute before midnight, where the history ends; it stays
    # behind the wall clock + 1 day (readings further ahead are refused as future)
    clock = SimClock(min(SPEED, 20 * 3600 / max(seconds, 1.0)), start=history.start)
    pumps = [history.levels[f"pump-{i}"] for i in (1, 2, 3)]
    p = build_pipeline(cfg)
    tickets = TicketsStage(cfg, clock=clock)
    alerting = Alerting(cfg, tickets.ticketing, clock=clock)
    tally = Tally()
    p.ingest.listeners.append(tally.add)

    def show(events: list[AlertEvent]) -> None:
        for e in events:
            say(_event_line(clock, e))

    alerting.listeners.append(show)
    tickets.attach(p)
    alerting.attach(p)
    subscribed = _when_subscribed(p)
    server = _status_server(cfg, alerting, clock, http_port) if http_port else None
    if server is not None:
        say(f"status page: http://127.0.0.1:{server.port}/")
    p.ingest.start()
    source = asyncio.create_task(p.subscriber.run())
    # the building must not publish before our subscription exists: on a fresh broker
    # there is no session yet to keep those messages for us
    await asyncio.wait_for(subscribed.wait(), 30)
    publisher = await asyncio.to_thread(Publisher, "127.0.0.1", cfg.mqtt.port)
    rng = random.Random(7)
    say(
        f"gatewatch demo: broker on 127.0.0.1:{cfg.mqtt.port}, store {cfg.store.path}, "
        f"one real second = {clock.speed:.0f} building seconds"
    )
    start = time.monotonic()
    tick = 0
    while time.monotonic() - start < seconds:
        tick += 1
        before = tally.readings
        for _ in range(4):
            publisher.publish(frames("demo", clock(), rng, clock.minute(), pumps))
            await asyncio.sleep(0.25)
        say(_line(tick, tally, before, p.ingest.stats.dead_letters))
    acked = await asyncio.to_thread(publisher.close)
    await _settle(p.ingest, acked)
    await p.ingest.drain()
    p.subscriber.stop()
    await source
    await asyncio.sleep(1.0)  # let the outbox worker deliver the last actions
    await alerting.close()
    await tickets.close()
    if server is not None:
        await asyncio.to_thread(server.close)
    p.ingest.stop()
    p.store.close()
    summary = _summary(acked, tally, p.ingest.stats.dead_letters, p.ingest.stats.messages_durable)
    summary["alerts"] = dict(Counter(str(e.kind) for e in alerting.events))
    summary["tickets"] = local_tickets(cfg.state_db)
    summary["history"] = {
        "days": seeded.days,
        "readings": seeded.readings,
        "plan_seconds": round(seeded.plan_seconds, 3),
        "seed_seconds": round(seeded.seconds, 3),
        "events": seeded.history_events,
    }
    if not quiet:
        _print_table(summary, tally)
    return summary


def _when_subscribed(p: Pipeline) -> asyncio.Event:
    """An event set once the broker acknowledged our subscription."""
    subscribed = asyncio.Event()
    previous = p.subscriber.on_state

    def on_state(state: str, info: dict[str, Any]) -> None:
        previous(state, info)
        if state == "up":
            subscribed.set()

    p.subscriber.on_state = on_state
    return subscribed


def _event_line(clock: SimClock, ev: AlertEvent) -> str:
    return (
        f"  >> building minute {clock.minute():5.1f}: {str(ev.kind).upper():9} "
        f"P{ev.priority} {ev.title}"
    )


def local_tickets(state_db: Path) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(state_db)) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT t.id, t.incident_key, t.subject, t.priority, t.status,"
            " t.potentially_critical, t.reopen_count,"
            " (SELECT COUNT(*) FROM local_ticket_notes n WHERE n.ticket_id = t.id) AS notes,"
            " (SELECT text FROM local_ticket_notes n WHERE n.ticket_id = t.id AND"
            "  n.kind = 'create') AS body"
            " FROM local_tickets t ORDER BY t.id"
        ).fetchall()
    return [dict(r) for r in rows]


async def _settle(ingest: Ingest, expected: int, timeout: float = 30.0) -> None:
    """Wait until every message the broker acknowledged has reached the store."""
    deadline = time.monotonic() + timeout
    while ingest.stats.messages_durable < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


def _line(tick: int, tally: Tally, before: int, dead: Counter[str]) -> str:
    rate = tally.readings - before
    temp = tally.last.get("server-room/temperature")
    pump = tally.last.get("pump-3/vibration.rms")
    sample = ""
    if temp and pump:
        sample = f"  server room {temp.value:.2f} C, pump-3 {pump.value:.2f} mm/s"
    return (
        f"[{tick:3d}s] {rate:4d} readings/s  stored {tally.readings:6d}  "
        f"dead-lettered {sum(dead.values()):3d}{sample}"
    )


def _summary(sent: int, tally: Tally, dead: Counter[str], durable_msgs: int) -> dict[str, Any]:
    return {
        "messages_published": sent,
        "messages_durable": durable_msgs,
        "messages_lost": sent - durable_msgs,
        "readings_stored": tally.readings,
        "series": len(tally.per_series),
        "dead_letters": dict(dead),
    }


def _print_table(summary: dict[str, Any], tally: Tally) -> None:
    print(f"\n{'series':32} {'readings':>9} {'last value':>14}")
    for name in sorted(tally.per_series):
        r = tally.last[name]
        unit = r.unit or ""
        print(f"{name:32} {tally.per_series[name]:9d} {r.value:>11.2f} {unit:>3}")
    print(f"\n{'ticket':>6} {'prio':>4} {'status':8} {'notes':>5}  subject")
    for t in summary["tickets"]:
        flag = " [POTENTIALLY CRITICAL]" if t["potentially_critical"] else ""
        print(
            f"{t['id']:>6} {'P' + str(t['priority']):>4} {t['status']:8} {t['notes']:>5}  "
            f"{t['subject']}{flag}"
        )
    dead = ", ".join(f"{k}={v}" for k, v in sorted(summary["dead_letters"].items())) or "none"
    print(
        f"\npublished {summary['messages_published']} messages, "
        f"{summary['messages_durable']} durable, lost {summary['messages_lost']}; "
        f"dead-lettered: {dead}"
    )
