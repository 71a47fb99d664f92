"""Incident 7 against a real Request Tracker: the predictive ticket carries its trend plot."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from gatewatch.core.events import Attachment
from gatewatch.ticketing_client import outbox
from gatewatch.ticketing_client.actions import ActionKind, TicketAction
from harness import drain, open_desk
from rt_client import RTReader
from structlog.testing import capture_logs
from ticket_events import T0, pump, trend_plot

pytestmark = pytest.mark.slow
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_predictive_ticket_has_trend_png_with_the_same_bytes(tmp_path: Path, rt: RTReader) -> None:
    desk, key = open_desk(tmp_path), f"pump-zone-c-forecast/{uuid.uuid4().hex[:8]}"
    desk.event(pump(key=key))
    worker = desk.worker(rt.adapter())
    drain(worker)
    ticket = desk.ticket(key)
    assert ticket is not None and rt.priority(ticket) == 50  # P3
    files = rt.files(ticket)
    assert list(files) == ["trend.png"]
    content_type, data = files["trend.png"]
    assert content_type == "image/png"
    assert data.startswith(PNG_SIGNATURE) and data == trend_plot().data
    [body] = rt.comments(ticket)  # the text is still the ticket's first message
    assert "rising 2 %/day" in body and "not attached" not in body
    assert worker.stats.attachments == {"sent": 1}


def test_a_file_rt_refuses_leaves_the_ticket_with_a_note(tmp_path: Path, rt: RTReader) -> None:
    # RT answers 400 to an attachment without a FileType: the ticket goes without it
    desk, key = open_desk(tmp_path), f"pump-zone-c-forecast/{uuid.uuid4().hex[:8]}"
    bad = Attachment("trend.png", "", trend_plot().data, "trend plot")
    desk.event(pump(key=key, attachments=(bad,)))
    worker = desk.worker(rt.adapter())
    drain(worker)
    ticket = desk.ticket(key)
    assert ticket is not None and rt.files(ticket) == {}
    [body] = rt.comments(ticket)
    assert "trend plot not attached: rt refused it" in body
    assert worker.stats.attachments == {"failed": 1} and desk.counts() == {"done": 1}


def test_a_file_rt_drops_silently_is_noticed_and_the_ticket_kept(
    tmp_path: Path, rt: RTReader
) -> None:
    # the test RT drops files over 256 KiB ($DropLongAttachments) and still answers 201;
    # queued past gatewatch's own 64 KiB cap, as an older build or another producer might
    desk, key = open_desk(tmp_path), f"pump-zone-c-forecast/{uuid.uuid4().hex[:8]}"
    huge = Attachment("trend.png", "image/png", bytes(300 * 1024), "trend plot")
    create = TicketAction(ActionKind.CREATE, key, subject="[P3] pump", text="Zone C.", priority=3)
    with outbox.transaction(desk.conn):
        outbox.add_actions(desk.conn, [replace(create, attachments=(huge,))], T0)
    worker = desk.worker(rt.adapter())
    with capture_logs() as logs:
        drain(worker)
    [failed] = [e for e in logs if e["event"] == "ticket_attachment_failed"]
    assert "was created without trend.png" in failed["reason"]
    ticket = desk.ticket(key)
    assert ticket is not None and rt.tickets_for(key) == [ticket]  # one ticket, kept
    assert "trend.png" not in rt.files(ticket)
    assert worker.stats.attachments == {"failed": 1} and desk.counts() == {"done": 1}
