"""Incident 7 against a real Redmine 5: the predictive issue carries its trend plot
(POST /uploads.json, then the token in the issue create), downloaded back byte for byte."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from gatewatch.core.events import Attachment
from gatewatch.ticketing_client import outbox
from gatewatch.ticketing_client.actions import ActionKind, TicketAction
from gatewatch.ticketing_client.adapters.redmine import RedmineAdapter
from harness import drain, open_desk
from redmine_client import RedmineReader
from structlog.testing import capture_logs
from ticket_events import T0, pump, trend_plot

pytestmark = pytest.mark.slow
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_predictive_issue_has_trend_png_with_the_same_bytes(
    tmp_path: Path, redmine: RedmineReader
) -> None:
    desk, key = open_desk(tmp_path), f"pump-zone-c-forecast/{uuid.uuid4().hex[:8]}"
    desk.event(pump(key=key))
    worker = desk.worker(redmine.adapter())
    drain(worker)
    ticket = desk.ticket(key)
    assert ticket is not None and redmine.issues_for(key) == [ticket]
    assert redmine.issue(ticket)["priority"]["name"] == "High"  # P3
    files = redmine.files(ticket)
    assert list(files) == ["trend.png"]
    content_type, data = files["trend.png"]
    assert content_type == "image/png"
    assert data.startswith(PNG_SIGNATURE) and data == trend_plot().data
    assert "not attached" not in redmine.texts(ticket)[0]
    assert worker.stats.attachments == {"sent": 1}


def test_a_file_over_redmines_limit_leaves_the_issue_with_a_note(
    tmp_path: Path, redmine: RedmineReader
) -> None:
    # Redmine's attachment_max_size (5120 KiB by default) refuses the upload with 422;
    # gatewatch's own cap is far lower, so this file comes straight to the adapter
    desk, key = open_desk(tmp_path), f"pump-zone-c-forecast/{uuid.uuid4().hex[:8]}"
    huge = Attachment("trend.png", "image/png", bytes(5 * 1024 * 1024 + 1), "trend plot")
    create = TicketAction(
        ActionKind.CREATE, key, subject="[P3] pump", text="Zone C ahead.", priority=3
    )
    with outbox.transaction(desk.conn):  # past the outbox's own cap, as an older build might
        outbox.add_actions(desk.conn, [replace(create, attachments=(huge,))], T0)
    worker = desk.worker(redmine.adapter())
    with capture_logs() as logs:
        drain(worker)
    [failed] = [e for e in logs if e["event"] == "ticket_attachment_failed"]
    assert "HTTP 422" in failed["reason"] and "maximum allowed file size" in failed["reason"]
    ticket = desk.ticket(key)
    assert ticket is not None and redmine.files(ticket) == {}
    assert "trend plot not attached: redmine refused it" in redmine.texts(ticket)[0]
    assert worker.stats.attachments == {"failed": 1} and desk.counts() == {"done": 1}


class StaleTokenAdapter(RedmineAdapter):
    """Uploads for real, then refers to a token Redmine no longer knows (a stale one)."""

    async def _upload(self, a: Attachment) -> dict[str, str]:
        ref = await super()._upload(a)
        return {**ref, "token": "999999." + "0" * 64}


def test_a_stale_upload_token_leaves_the_issue_with_a_note(
    tmp_path: Path, redmine: RedmineReader
) -> None:
    # Redmine refuses the create naming no field: 422 "1 file(s) could not be saved."
    desk, key = open_desk(tmp_path), f"pump-zone-c-forecast/{uuid.uuid4().hex[:8]}"
    desk.event(pump(key=key))
    worker = desk.worker(StaleTokenAdapter(redmine.settings()))
    with capture_logs() as logs:
        drain(worker)
    [failed] = [e for e in logs if e["event"] == "ticket_attachment_failed"]
    assert "HTTP 422" in failed["reason"] and "could not be saved" in failed["reason"]
    ticket = desk.ticket(key)
    assert ticket is not None and redmine.issues_for(key) == [ticket]  # one issue
    assert redmine.files(ticket) == {}
    assert "trend plot not attached: redmine refused it" in redmine.texts(ticket)[0]
    assert worker.stats.attachments == {"failed": 1} and desk.counts() == {"done": 1}
