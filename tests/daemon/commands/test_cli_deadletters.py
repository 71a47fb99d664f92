"""``gatewatch deadletters list|show`` on a state database the real store wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gatewatch.core.reading import Reading
from gatewatch.daemon.commands.main import main
from gatewatch.sensors.store.base import DeadLetter
from gatewatch.sensors.store.sqlite import SqliteStore

T0 = 1_764_000_000.0


@pytest.fixture
def state_db(tmp_path: Path) -> Path:
    store = SqliteStore(tmp_path / "readings.db", tmp_path / "state.db", clock=lambda: T0 + 5)
    store.write(
        [Reading("hq", "srv", "temp", T0, 21.0)],
        [
            DeadLetter(T0 + 1, "b/hq/srv/temp", b"hot", "not_a_number", "payload 'hot'"),
            DeadLetter(T0 + 2, "b/hq/lift/door", b"\xff\xfe", "bad_utf8", "not UTF-8"),
        ],
    )
    store.write([Reading("hq", "srv", "temp", T0, 23.0)], [])  # a conflict
    store.close()
    return tmp_path / "state.db"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_the_newest_first_with_counts(
    state_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "deadletters", "list", "--state-db", str(state_db))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("3 dead letters (bad_utf8 1, conflict 1, not_a_number 1)")
    assert lines[1].split()[:3] == ["ID", "RECEIVED", "(UTC)"]
    assert [line.split()[0] for line in lines[2:]] == ["3", "2", "1"]
    assert lines[2].split()[3:5] == ["conflict", "hq/srv/temp"]
    assert "already holds 21.0" in lines[2]
    code, out, _ = run(
        capsys, "deadletters", "list", "--reason", "bad_utf8", "--state-db", str(state_db), "--json"
    )
    doc = json.loads(out)
    assert doc["counts"] == {"bad_utf8": 1, "conflict": 1, "not_a_number": 1}
    [letter] = doc["dead_letters"]
    assert (letter["topic"], letter["payload_utf8"], letter["payload_hex"]) == (
        "b/hq/lift/door",
        False,
        "ff fe",
    )
    code, out, _ = run(
        capsys, "deadletters", "list", "--topic", "srv/", "--state-db", str(state_db), "--json"
    )
    assert [d["reason"] for d in json.loads(out)["dead_letters"]] == ["conflict", "not_a_number"]


def test_show_prints_one_with_its_payload(
    state_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "deadletters", "show", "1", "--state-db", str(state_db))
    assert code == 0
    assert "not_a_number" in out and "2025-11-24 16:00:01 UTC" in out
    assert out.splitlines()[-1] == "hot"
    code, out, _ = run(capsys, "deadletters", "show", "3", "--state-db", str(state_db), "--json")
    doc = json.loads(out)
    assert doc["reason"] == "conflict"
    assert json.loads(doc["payload_text"]) == {"series": "hq/srv/temp", "ts": T0, "value": 23.0}


def test_a_missing_database_or_id_is_exit_1_with_what_to_check(
    state_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "deadletters", "show", "99", "--state-db", str(state_db))
    assert code == 1 and "no dead letter 99" in err
    missing = tmp_path / "nope" / "state.db"
    code, _, err = run(capsys, "deadletters", "list", "--state-db", str(missing))
    assert code == 1 and "no state database" in err and not missing.exists()
    empty = tmp_path / "empty.db"
    empty.touch()
    code, _, err = run(capsys, "deadletters", "list", "--state-db", str(empty))
    assert code == 1 and "ingest never ran" in err
