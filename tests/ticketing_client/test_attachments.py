"""Files with ticket actions: the trend plot of a predictive ticket, from the event to the desk.

The plumbing without a remote desk: the outbox keeps the bytes across a restart, the
size cap, the local backend stores the file beside the ticket, a desk without
attachments gets a note instead, and a failing attachment never blocks the ticket.
The real RT and Redmine are in test_rt_attachments.py and adapters/test_redmine.py.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from gatewatch.core.events import Attachment, EventKind
from gatewatch.ticketing_client import outbox
from gatewatch.ticketing_client.actions import ActionKind, TicketAction
from gatewatch.ticketing_client.adapters.local import LocalAdapter, attachments_of
from gatewatch.ticketing_client.attachments import MAX_BYTES
from gatewatch.ticketing_client.errors import RejectedError, RetryableError
from gatewatch.ticketing_client.schema import connect_state
from gatewatch.ticketing_client.worker import ATTACH_TRIES, Worker
from harness import Desk, drain, open_desk
from structlog.testing import capture_logs
from ticket_events import T0, pump, server_room, trend_plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_the_trend_plot_is_a_small_png() -> None:
    png = trend_plot().data
    assert png.startswith(PNG_SIGNATURE) and 500 < len(png) < MAX_BYTES


def test_action_json_round_trip_keeps_the_bytes() -> None:
    plot = trend_plot()
    action = TicketAction(ActionKind.CREATE, "k", text="body", attachments=(plot,))
    doc = json.loads(action.to_json())
    assert doc["attachments"][0]["name"] == "trend.png"
    back = TicketAction.from_json(action.to_json())
    assert back == action and back.attachments[0].data == plot.data
    # an action without files serialises as before: delivery ids of queued rows hold
    plain = TicketAction(ActionKind.UPDATE, "k", text="still firing")
    assert "attachments" not in json.loads(plain.to_json())


def test_create_carries_the_file_and_the_outbox_keeps_it_across_a_restart(
    tmp_path: Path,
) -> None:
    desk = open_desk(tmp_path)
    desk.event(pump())
    desk.event(pump(EventKind.UPDATED, ts=T0 + 3600))
    desk.conn.close()  # the process dies before delivering
    conn = connect_state(tmp_path / "state.db")
    [head] = outbox.due_heads(conn, T0, set(), 10)
    assert head.action.kind is ActionKind.CREATE
    [plot] = head.action.attachments
    assert (plot.name, plot.content_type, plot.data) == (
        "trend.png",
        "image/png",
        trend_plot().data,
    )


def test_only_the_create_carries_files(tmp_path: Path) -> None:
    desk = open_desk(tmp_path)
    policy = replace(pump().policy, update_interval=3600.0)
    desk.event(pump(policy=policy))
    desk.event(pump(EventKind.UPDATED, ts=T0 + 3600, policy=policy))
    desk.event(pump(EventKind.RESOLVED, ts=T0 + 7200, policy=policy))
    heads = _all_actions(desk)
    assert [a.kind for a in heads] == [ActionKind.CREATE, ActionKind.UPDATE, ActionKind.RESOLVE]
    assert [len(a.attachments) for a in heads] == [1, 0, 0]


def test_a_file_over_the_cap_is_not_queued_and_the_text_says_why(tmp_path: Path) -> None:
    desk = open_desk(tmp_path)
    big = Attachment("trend.png", "image/png", b"\x89PNG" + bytes(MAX_BYTES), "trend plot")
    with capture_logs() as logs:
        desk.event(pump(attachments=(big,)))
    [create] = _all_actions(desk)
    assert create.attachments == ()
    assert "trend plot not attached: 64.0 KiB is over the 64 KiB cap" in create.text
    [line] = [e for e in logs if e["event"] == "ticket_attachment_too_large"]
    assert line["bytes"] == MAX_BYTES + 4 and line["cap"] == MAX_BYTES


def test_local_backend_stores_the_file_beside_the_ticket(tmp_path: Path) -> None:
    desk = open_desk(tmp_path)
    desk.event(pump())
    worker = desk.worker(LocalAdapter(desk.conn, lock=desk.lock, clock=desk.clock))
    drain(worker)
    ticket = desk.ticket(pump().incident_key)
    assert ticket is not None
    [stored] = attachments_of(desk.conn, int(ticket))
    assert stored.name == "trend.png" and stored.data == trend_plot().data
    assert worker.stats.attachments == {"sent": 1}


@dataclass
class FileDesk:
    """An in-memory desk that records what it got; ``fail`` decides how a file fails."""

    takes_attachments: bool = True
    # "", "reject" (4xx for files), "reject-all", "5xx" (for files), "5xx-all", "unreachable"
    fail: str = ""
    name: str = "fake"
    created: list[TicketAction] = field(default_factory=list)

    async def create(self, action: TicketAction) -> str:
        if action.attachments and self.fail == "reject":
            raise RejectedError("HTTP 413 from /ticket: attachment too large")
        if action.attachments and self.fail == "5xx":
            raise RetryableError("HTTP 502 from /ticket: bad gateway")
        if self.fail == "5xx-all":
            raise RetryableError("HTTP 503 from /ticket: maintenance")
        if self.fail == "reject-all":
            raise RejectedError("HTTP 403 from /ticket: no permission")
        if self.fail == "unreachable":
            raise RetryableError("cannot reach desk: ConnectError", maybe_delivered=False)
        self.created.append(action)
        return str(len(self.created))

    async def find(self, incident_key: str) -> str | None:
        return None

    async def comment(self, ticket_id: str, action: TicketAction) -> None: ...

    async def delivered(self, ticket_id: str, action: TicketAction) -> bool:
        return False

    async def acknowledged(self, ticket_id: str) -> bool:
        return False

    async def escalate(self, ticket_id: str, action: TicketAction) -> None: ...

    async def resolve(self, ticket_id: str, action: TicketAction) -> None: ...

    async def reopen(self, ticket_id: str, action: TicketAction) -> None: ...

    async def aclose(self) -> None: ...


def test_a_desk_without_attachments_gets_a_note_not_silence(tmp_path: Path) -> None:
    desk, fake = open_desk(tmp_path), FileDesk(takes_attachments=False, name="webhook")
    desk.event(pump())
    worker = desk.worker(fake)
    drain(worker)
    [got] = fake.created
    assert got.attachments == ()
    assert got.text.endswith("trend plot not attached: webhook adapter does not take attachments")
    assert worker.stats.attachments == {"unsupported": 1}


def test_a_refused_file_never_blocks_the_ticket(tmp_path: Path) -> None:
    desk, fake = open_desk(tmp_path), FileDesk(fail="reject")
    desk.event(pump())
    worker = desk.worker(fake)
    with capture_logs() as logs:
        drain(worker)
    [got] = fake.created  # created at once, without the file
    assert got.attachments == () and "trend plot not attached: fake refused it" in got.text
    assert desk.counts() == {"done": 1} and desk.ticket(pump().incident_key) == "1"
    assert worker.stats.attachments == {"failed": 1}
    [line] = [e for e in logs if e["event"] == "ticket_attachment_failed"]
    assert "HTTP 413" in line["reason"]


def _rounds(desk: Desk, worker: Worker, n: int) -> None:
    """n delivery rounds, the injected clock moved past every backoff in between."""

    async def go() -> None:
        for _ in range(n):
            desk.clock.now += 120
            worker.dispatch()
            await asyncio.sleep(0)
            while worker._inflight:
                await asyncio.wait(list(worker._inflight.values()))

    asyncio.run(go())


def test_a_transient_file_failure_is_retried_then_the_ticket_goes_without(
    tmp_path: Path,
) -> None:
    desk, fake = open_desk(tmp_path), FileDesk(fail="5xx")
    desk.event(pump())
    worker = desk.worker(fake)
    _rounds(desk, worker, ATTACH_TRIES)
    assert fake.created == [] and worker.stats.retried == ATTACH_TRIES
    _rounds(desk, worker, 1)
    [got] = fake.created
    assert got.attachments == ()
    assert f"trend plot not attached: {ATTACH_TRIES} attempts with it failed" in got.text
    assert worker.stats.attachments == {"failed": 1}


def test_an_unreachable_desk_keeps_the_file_for_when_it_is_back(tmp_path: Path) -> None:
    desk, fake = open_desk(tmp_path), FileDesk(fail="unreachable")
    desk.event(pump())
    worker = desk.worker(fake)
    _rounds(desk, worker, ATTACH_TRIES + 2)
    fake.fail = ""
    _rounds(desk, worker, 1)
    [got] = fake.created
    assert got.attachments == (trend_plot(),) and "not attached" not in got.text
    assert worker.stats.attachments == {"sent": 1}


def test_events_without_files_are_untouched(tmp_path: Path) -> None:
    desk, fake = open_desk(tmp_path), FileDesk(takes_attachments=False)
    desk.event(server_room())
    worker = desk.worker(fake)
    drain(worker)
    assert "not attached" not in fake.created[0].text and worker.stats.attachments == {}


def _all_actions(desk: Desk) -> list[TicketAction]:
    rows = desk.conn.execute("SELECT payload FROM ticket_outbox ORDER BY id")
    return [TicketAction.from_json(p) for (p,) in rows]


def test_a_refusal_that_is_not_the_files_fault_parks_without_blaming_the_file(
    tmp_path: Path,
) -> None:
    desk, fake = open_desk(tmp_path), FileDesk(fail="reject-all")
    desk.event(pump())
    worker = desk.worker(fake)
    with capture_logs() as logs:
        _rounds(desk, worker, 1)
    assert fake.created == [] and desk.counts() == {"parked": 1}
    assert worker.stats.attachments == {}
    assert not [e for e in logs if e["event"] == "ticket_attachment_failed"]


def test_a_file_is_counted_once_when_its_ticket_is_finally_delivered(tmp_path: Path) -> None:
    desk, fake = open_desk(tmp_path), FileDesk(fail="5xx-all")
    desk.event(pump())
    worker = desk.worker(fake)
    _rounds(desk, worker, ATTACH_TRIES + 3)  # without the file it fails too: nothing counted
    assert fake.created == [] and worker.stats.attachments == {}
    fake.fail = ""
    _rounds(desk, worker, 1)
    [got] = fake.created
    assert got.attachments == () and worker.stats.attachments == {"failed": 1}
