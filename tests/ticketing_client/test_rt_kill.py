"""kill -9 of the ticket worker at random points: one ticket per incident, each action once."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from gatewatch.core.events import EventKind
from gatewatch.ticketing_client import outbox
from harness import open_desk
from rt_client import RTReader
from rt_server import RequestTracker
from ticket_events import T0, server_room

pytestmark = pytest.mark.slow
WORKER = Path(__file__).with_name("kill_worker.py")
INCIDENTS, KILLS = 20, 22


def spawn(state_db: Path, rt_server: RequestTracker) -> subprocess.Popen[bytes]:
    with (state_db.parent / "workers.log").open("ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                str(state_db),
                rt_server.url,
                rt_server.tokens["gatewatch"],
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_started(state_db: Path, before: int) -> None:
    log = state_db.parent / "workers.log"
    deadline = time.monotonic() + 30
    while log.read_text().count("worker started") <= before:
        assert time.monotonic() < deadline, "the worker did not start"
        time.sleep(0.01)


def test_kill_9_while_creating_leaves_one_ticket_per_incident(
    tmp_path: Path, rt: RTReader, rt_server: RequestTracker
) -> None:
    desk = open_desk(tmp_path)
    run = uuid.uuid4().hex[:6]
    keys = [f"kill-{run}/{n:02d}" for n in range(INCIDENTS)]
    for k in keys:
        desk.event(server_room(key=k))
        desk.event(server_room(EventKind.UPDATED, key=k, ts=T0 + 900, value=33.8))
    rng = random.Random(run)
    kills = 0
    while kills < KILLS:
        proc = spawn(tmp_path / "state.db", rt_server)
        wait_started(tmp_path / "state.db", kills)  # imports done, the worker is running
        time.sleep(rng.uniform(0.0, 0.4))
        if proc.poll() is not None:
            break  # finished before the kill: the outbox is empty
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with (tmp_path / "workers.log").open("a") as log:
            log.write("KILLED\n")
        kills += 1
    final = spawn(tmp_path / "state.db", rt_server)
    assert final.wait(120) == 0, (tmp_path / "workers.log").read_text()[-3000:]
    assert kills >= min(KILLS, 20), f"only {kills} kills before the outbox drained"
    assert outbox.counts(desk.conn) == {"done": 2 * INCIDENTS}
    for k in keys:
        ticket = desk.ticket(k)
        assert rt.tickets_for(k) == [ticket], k
        texts = rt.comments(ticket or "")
        short = [(t[:20], t[-42:]) for t in texts]
        assert len(texts) == 2 and texts[1].startswith("Still firing: 33.8 C"), (k, short)
