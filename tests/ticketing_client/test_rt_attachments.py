"""Incident 7 against a real Request Tracker: the predictive ticket carries its trend plot."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from gatewatch.rules.events import Attachment
from harness import drain, open_desk
from rt_client import RTReader
from ticket_events import pump, trend_plot

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
