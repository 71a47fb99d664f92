"""`gatewatch demo`: a private broker, a simulated building, the whole daemon.

The daemon of `gatewatch run`, built by the same composition root
(:func:`gatewatch.daemon.run.compose.build`: ingest, store, anomaly, the
shipped rules, the local ticket backend, the status page), runs on a simulated
clock: one real second is one building minute, so the incidents of DESIGN.md
(rope break, cooling failure with escalation, repeated door faults) play out
in under a minute. The demo's own observers (the reading tally, the event
printer, the wait for the subscription) are passed to the root; it starts and
stops the daemon exactly as `gatewatch run` does. Everything runs from
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
from gatewatch.daemon.ops.logs import setup_logging
from gatewatch.daemon.run.compose import Daemon, Observers, build
from gatewatch.daemon.run.stage_metrics import read_figures
from gatewatch.sensors.ingest import Ingest

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
http: {http}
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


def demo_config(workdir: Path, port: int, http_port: int = 0) -> Config:
    """The demo's configuration; ``http_port`` serves the status page (0: no HTTP)."""
    defaults = files("gatewatch.daemon.demo").joinpath("defaults")
    http = f"{{host: 127.0.0.1, port: {http_port}}}" if http_port else "{enabled: false}"
    text = DEMO_CONFIG.format(
        state=workdir / "state",
        assets=defaults.joinpath("demo_assets.yaml"),
        rules=defaults.joinpath("rules"),
        port=port,
        http=http,
    )
    return parse_config(text, "<demo>", base_dir=workdir, env={})


@dataclass(frozen=True)
class Played:
    summary: dict[str, Any]
    trail: tuple[str, ...]  # the stages as the root started and stopped them


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
            cfg = demo_config(workdir, broker.port, http_port)
            played = asyncio.run(play(cfg, seconds, quiet=as_json))
        finally:
            broker.stop()
    if as_json:
        print(json.dumps(played.summary, indent=2))
    return 0


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


async def play(cfg: Config, seconds: float, *, quiet: bool) -> Played:
    """The simulated building publishing for ``seconds`` into the daemon, then its stop."""
    say: Callable[[str], None] = (lambda _s: None) if quiet else print
    history, seeded = _history(cfg, say)
    # building time starts a minute before midnight, where the history ends; it stays
    # behind the wall clock + 1 day (readings further ahead are refused as future)
    clock = SimClock(min(SPEED, 20 * 3600 / max(seconds, 1.0)), start=history.start)
    tally, subscribed = Tally(), asyncio.Event()

    def show(events: list[AlertEvent]) -> None:
        for e in events:
            say(_event_line(clock, e))

    observers = Observers(
        readings=(tally.add,),
        events=(show,),
        broker=(lambda state, _info: subscribed.set() if state == "up" else None,),
    )
    daemon = build(cfg, Path(cfg.source), clock=clock, env={}, observers=observers)
    await daemon.start()
    _say_status_page(daemon, say)
    try:
        # the building must not publish before our subscription exists: on a fresh broker
        # there is no session yet to keep those messages for us
        await asyncio.wait_for(subscribed.wait(), 30)
        pumps = [history.levels[f"pump-{i}"] for i in (1, 2, 3)]
        acked = await _building(daemon, tally, clock=clock, pumps=pumps, seconds=seconds, say=say)
        await _settle(daemon.source.ingest, acked)
        await _delivered(cfg.state_db)
    finally:
        await daemon.stop()
    summary = _summary(acked, tally, daemon)
    summary["history"] = {
        "days": seeded.days,
        "readings": seeded.readings,
        "plan_seconds": round(seeded.plan_seconds, 3),
        "seed_seconds": round(seeded.seconds, 3),
        "events": seeded.history_events,
    }
    if not quiet:
        _print_table(summary, tally)
    return Played(summary, tuple(daemon.lifecycle.trail))


async def _building(
    daemon: Daemon,
    tally: Tally,
    *,
    clock: SimClock,
    pumps: list[float],
    seconds: float,
    say: Callable[[str], None],
) -> int:
    """Publish the building's frames for ``seconds``; returns the messages the broker acked."""
    cfg = daemon.cfg
    publisher = await asyncio.to_thread(Publisher, "127.0.0.1", cfg.mqtt.port)
    rng = random.Random(7)
    say(
        f"gatewatch demo: broker on 127.0.0.1:{cfg.mqtt.port}, store {cfg.store.path}, "
        f"one real second = {clock.speed:.0f} building seconds"
    )
    start, tick = time.monotonic(), 0
    while time.monotonic() - start < seconds:
        tick += 1
        before = tally.readings
        for _ in range(4):
            publisher.publish(frames("demo", clock(), rng, clock.minute(), pumps))
            await asyncio.sleep(0.25)
        say(_line(tick, tally, before, daemon.source.ingest.stats.dead_letters))
    acked: int = await asyncio.to_thread(publisher.close)
    return acked


def _say_status_page(daemon: Daemon, say: Callable[[str], None]) -> None:
    http, server = daemon.cfg.http, daemon.ops.server
    if server is not None:
        say(f"status page: http://127.0.0.1:{server.port}/")
    elif http.enabled:
        print(f"warning: no status page on 127.0.0.1:{http.port} (--http-port)", file=sys.stderr)


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


async def _delivered(state_db: Path, timeout: float = 10.0) -> None:
    """Let the outbox worker deliver the last actions (the stop finishes only those in
    flight); a second at least, as the rules keep ticking in building time."""
    await asyncio.sleep(1.0)
    deadline = time.monotonic() + timeout
    while read_figures(state_db).pending and time.monotonic() < deadline:
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


def _summary(sent: int, tally: Tally, daemon: Daemon) -> dict[str, Any]:
    stats = daemon.source.ingest.stats
    return {
        "messages_published": sent,
        "messages_durable": stats.messages_durable,
        "messages_lost": sent - stats.messages_durable,
        "readings_stored": tally.readings,
        "series": len(tally.per_series),
        "dead_letters": dict(stats.dead_letters),
        "alerts": dict(Counter(str(e.kind) for e in daemon.rules.events)),
        "tickets": local_tickets(daemon.cfg.state_db),
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
