from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
from gatewatch.core.events import EventKind
from gatewatch.daemon.commands.main import main
from gatewatch.ticketing_client import outbox
from gatewatch.ticketing_client.adapters.local import LocalAdapter

sys.path.insert(0, str(Path(__file__).parents[2] / "ticketing_client"))
from harness import drain, open_desk
from ticket_events import T0, lift, pump, server_room, trend_plot


@pytest.fixture
def state_db(tmp_path: Path) -> Path:
    desk = open_desk(tmp_path)
    desk.event(server_room())
    desk.event(server_room(EventKind.UPDATED, ts=T0 + 900, value=33.8))
    drain(desk.worker(LocalAdapter(desk.conn, lock=desk.lock, clock=desk.clock)))
    [parked] = desk.event(lift())
    outbox.mark_parked(desk.conn, parked, "HTTP 403 from /REST/2.0/ticket: no permission")
    desk.event(lift(EventKind.UPDATED, ts=T0 + 300))
    desk.conn.close()
    return tmp_path / "state.db"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_tickets_list_table_and_json(state_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "tickets", "list", "--state-db", str(state_db))
    assert code == 0
    assert out.splitlines()[0].split()[:3] == ["INCIDENT", "STATUS", "PRIO"]
    assert "server-room-hot/srv-room-a  firing  P1" in out and "(not yet)" in out
    code, out = run(capsys, "tickets", "list", "--state-db", str(state_db), "--json")
    doc = json.loads(out)
    by_key = {d["incident_key"]: d for d in doc["incidents"]}
    assert by_key["server-room-hot/srv-room-a"]["ticket_id"] == "1"
    assert by_key["server-room-hot/srv-room-a"]["backend"] == "local"
    assert by_key["lift-rope/lift-2"]["ticket_id"] is None
    assert by_key["lift-rope/lift-2"]["undelivered"] == 2
    assert doc["local_tickets"][0]["subject"].startswith("[P1] Server room temperature")


def test_tickets_show_prints_the_notes(state_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "tickets", "show", "1", "--state-db", str(state_db))
    assert code == 0 and "Building: HQ / Floor: 3 / Room: 3.14" in out
    assert "Still firing: 33.8 C" in out
    code, out = run(
        capsys,
        "tickets",
        "show",
        "server-room-hot/srv-room-a",
        "--state-db",
        str(state_db),
        "--json",
    )
    doc = json.loads(out)
    assert [n["kind"] for n in doc["notes"]] == ["create", "update"]
    assert [a["state"] for a in doc["actions"]] == ["done", "done"]
    code, _ = run(capsys, "tickets", "show", "nope", "--state-db", str(state_db))
    assert code == 1


def test_outbox_list_retry_drop(state_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "outbox", "list", "--state-db", str(state_db), "--json")
    doc = json.loads(out)
    assert doc["counts"] == {"done": 2, "parked": 1, "pending": 1}
    parked = [a for a in doc["actions"] if a["state"] == "parked"]
    assert parked[0]["last_error"].startswith("HTTP 403") and parked[0]["kind"] == "create"
    code, out = run(capsys, "outbox", "list", "--state-db", str(state_db))
    assert "HTTP 403 from /REST/2.0/ticket" in out
    code, out = run(capsys, "outbox", "retry", "--all-parked", "--state-db", str(state_db))
    assert code == 0 and out.strip() == "1 action(s) queued for retry"
    update_id = doc["actions"][-1]["id"]
    code, out = run(capsys, "outbox", "drop", str(update_id), "--state-db", str(state_db), "--json")
    assert json.loads(out) == {"action": "drop", "changed": 1}
    code, out = run(capsys, "outbox", "list", "--state-db", str(state_db), "--json")
    assert json.loads(out)["counts"] == {"done": 2, "pending": 1, "dropped": 1}
    assert run(capsys, "outbox", "retry", "--state-db", str(state_db))[0] == 2


def test_missing_state_db_is_invalid_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["outbox", "list", "--state-db", str(tmp_path / "none.db")]) == 1
    assert "no state database" in capsys.readouterr().err


def test_tickets_show_lists_and_saves_the_trend_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    desk = open_desk(tmp_path)
    desk.event(server_room())
    desk.event(pump())  # the predictive ticket with its trend plot: local ticket 2
    drain(desk.worker(LocalAdapter(desk.conn, lock=desk.lock, clock=desk.clock)))
    desk.conn.close()
    state_db, png = tmp_path / "state.db", trend_plot().data
    code, out = run(capsys, "tickets", "show", "2", "--state-db", str(state_db))
    assert code == 0 and f"attachment: trend.png (image/png, {len(png)} bytes) trend plot" in out
    argv = ("tickets", "show", "2", "--state-db", str(state_db), "--json")
    code, out = run(capsys, *argv, "--save-attachments", str(tmp_path / "files"))
    doc = json.loads(out)
    [f] = doc["attachments"]
    assert f["bytes"] == len(png) and f["sha256"] == hashlib.sha256(png).hexdigest()
    assert doc["saved"] == [str(tmp_path / "files" / "ticket-2-trend.png")]
    assert (tmp_path / "files" / "ticket-2-trend.png").read_bytes() == png
    code, out = run(capsys, "tickets", "show", "1", "--state-db", str(state_db), "--json")
    assert json.loads(out)["attachments"] == []


def test_tickets_take_acknowledges_a_local_ticket(
    state_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "tickets", "take", "1", "--owner", "alice", "--state-db", str(state_db))
    assert code == 0 and "alice" in out
    code, out = run(capsys, "tickets", "show", "1", "--state-db", str(state_db), "--json")
    ticket = json.loads(out)["local_ticket"]
    assert (ticket["owner"], ticket["status"]) == ("alice", "open")
    code = main(["tickets", "take", "99", "--owner", "bob", "--state-db", str(state_db)])
    assert code == 1 and "no local ticket 99" in capsys.readouterr().err
    assert main(["tickets", "take", "1", "--owner", " ", "--state-db", str(state_db)]) == 1
