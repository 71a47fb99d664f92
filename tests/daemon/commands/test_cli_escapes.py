"""Every CLI table escapes what it prints: a name or text with an escape sequence
(stored before names were checked, or from a desk) shows as visible, inert text, never
as a forged row or a changed terminal title (issue 18, point 5)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from gatewatch.core.events import EventText
from gatewatch.core.printable import printable
from gatewatch.daemon.commands.main import main
from gatewatch.ticketing_client.adapters.local import LocalAdapter

sys.path.insert(0, str(Path(__file__).parents[2] / "ticketing_client"))
from harness import drain, open_desk
from ticket_events import server_room

TITLE = "\x1b]0;pwned\x07"  # sets the terminal title
ROW = "\n| 999 | resolved | P5 |"  # a forged table row
KEY = f"server-room-hot/srv{TITLE}{ROW}"


def test_printable_escapes_only_what_a_terminal_would_act_on() -> None:
    assert printable(None) == "" and printable(3.5) == "3.5"
    assert printable("Pumpe 3 · 31,2 °C ✓") == "Pumpe 3 · 31,2 °C ✓"
    assert printable(TITLE) == "\\x1b]0;pwned\\x07"
    assert printable("a\u200bb\u2028c") == "a\\u200bb\\u2028c"
    assert printable("line 1\nline\x1b 2", lines=True) == "line 1\nline\\x1b 2"


@pytest.fixture
def hostile_db(tmp_path: Path) -> Path:
    desk = open_desk(tmp_path)
    text = EventText.plain(f"Hot {TITLE}", f"body{TITLE}\nsecond line")
    desk.event(server_room(key=KEY, text=text))
    drain(desk.worker(LocalAdapter(desk.conn, lock=desk.lock, clock=desk.clock)))
    desk.conn.close()
    return tmp_path / "state.db"


@pytest.mark.parametrize(
    "argv",
    [["tickets", "list"], ["tickets", "show", "1"], ["outbox", "list", "--all"]],
)
def test_ticket_and_outbox_tables_escape_names_and_texts(
    hostile_db: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--state-db", str(hostile_db)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;pwned\\x07" in out
    if argv[1] == "list":
        assert not any(line.startswith("| 999") for line in out.splitlines())  # no forged row
    else:  # a note's text keeps its own lines; the fields and the action table do not
        assert f"incident_key: {printable(KEY)}" in out.splitlines()
        assert out.splitlines()[-1].startswith("1 ") and "\\n| 999" in out.splitlines()[-1]


def test_silence_list_escapes_the_comment_and_the_author(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "gatewatch.yaml"
    config.write_text("site: hq\nstate_dir: state\nassets: assets.yaml\n")
    (tmp_path / "assets.yaml").write_text("assets: {}\n")
    add = ["silence", "add", "--config", str(config), "--match", "asset=pump-1", "--for", "1h"]
    assert main([*add, "--comment", f"swap{TITLE}{ROW}", "--by", f"ana{TITLE}"]) == 0
    capsys.readouterr()
    assert main(["silence", "list", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and len(out.splitlines()) == 2  # the header and one row
    assert "swap\\x1b]0;pwned\\x07\\n| 999" in out and "(ana\\x1b]0;pwned\\x07)" in out
