"""`gatewatch rules backtest` on a real SQLite store; backtest equals the live path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from gatewatch.core.events import AlertEvent
from gatewatch.core.reading import Reading
from gatewatch.daemon.commands.main import main
from gatewatch.daemon.config.load import load_config
from gatewatch.daemon.config.rulefiles import load_rule_files
from gatewatch.daemon.offline.backtest import parse_time, read_history
from gatewatch.rules.backtest import backtest
from gatewatch.rules.engine import Engine
from gatewatch.sensors.store.sqlite import SqliteStore

CONFIG = Path(__file__).resolve().parents[3] / "config"
T0 = parse_time("2026-11-24T21:00:00Z", 0.0)


def _history() -> list[Reading]:
    out = []
    for minute in range(60):
        ts = T0 + minute * 60
        out.append(Reading("hq", "lift-a1", "rope_break", ts, 1.0 if 10 <= minute < 31 else 0.0))
        fault = 17.0 if minute in (0, 10, 20, 30, 40) else 0.0
        out.append(Reading("hq", "lift-a2", "door_fault_code", ts + 5, fault))
        out.append(Reading("hq", "server-room-1", "temperature", ts + 7, 22.0 + minute * 0.01))
    return out


@pytest.fixture
def site(tmp_path: Path) -> Path:
    shutil.copy(CONFIG / "assets.yaml", tmp_path / "assets.yaml")
    (tmp_path / "rules").mkdir()
    for path in (CONFIG / "rules").glob("*.yaml"):
        shutil.copy(path, tmp_path / "rules" / path.name)
    config = tmp_path / "gatewatch.yaml"
    config.write_text("site: hq\nstate_dir: state\nassets: assets.yaml\n")
    cfg = load_config(config)
    store = SqliteStore(cfg.store.path, cfg.state_db, synchronous="NORMAL")
    store.write(_history(), [])
    store.close()
    return config


def _backtest(config: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    args = ["rules", "backtest", "--config", str(config), "--json"]
    args += ["--from", "2026-11-24T21:00:00Z", "--to", "2026-11-24T22:00:00Z", *extra]
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def test_backtest_counts_alerts_tickets_and_time_firing(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _backtest(site, capsys)
    cur = report["current"]
    assert cur["readings"] == 180
    rope = cur["rules"]["lift-rope-break"]
    assert (rope["alerts"], rope["tickets"], rope["updates"]) == (1, 1, 4)
    assert rope["firing_seconds"] == 21 * 60
    door = cur["rules"]["lift-door-fault"]
    # five faults of one lift: one ticket, four reopens (same incident, within a day)
    assert (door["alerts"], door["tickets"], door["reopens"]) == (5, 1, 4)
    assert cur["rules"]["lift-door-fault-repeated"]["alerts"] == 1
    assert cur["rules"]["server-room-overheating"]["alerts"] == 0
    assert cur["tickets"] == 3


def test_backtest_compares_current_and_proposed_rules(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proposed = tmp_path / "proposed"
    proposed.mkdir()
    for path in (site.parent / "rules").glob("*.yaml"):
        text = path.read_text().replace(
            "      times: 3\n      within: 1h", "      times: 9\n      within: 1h"
        )
        (proposed / path.name).write_text(text)
    report = _backtest(site, capsys, "--rules", str(proposed))
    assert report["proposed"]["rules"]["lift-door-fault-repeated"]["alerts"] == 0
    assert report["difference"]["tickets"] == -1
    assert report["difference"]["summary"] == "would have opened 2 tickets instead of 3"
    assert (
        main(
            [
                "rules",
                "backtest",
                "--config",
                str(site),
                "--from",
                "2026-11-24T21:00:00Z",
                "--to",
                "2026-11-24T22:00:00Z",
                "--rules",
                str(proposed),
            ]
        )
        == 0
    )
    table = capsys.readouterr().out
    assert "lift-door-fault-repeated" in table
    assert "1->0" in table
    assert "would have opened 2 tickets instead of 3" in table


def test_backtest_usage_and_invalid_rules(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["rules", "backtest", "--config", str(site)]
    assert main([*base, "--from", "yesterday", "--to", "now"]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: x\n    when: {above: 1}\n")
    assert main([*base, "--from=-1d", "--to", "now", "--rules", str(bad)]) == 1
    assert f"{bad}:2:5" in capsys.readouterr().err


def test_backtest_without_a_store_says_which_file_and_setting(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store that is not there is an error naming the file and store.path, not a traceback."""
    store = load_config(site).store.path
    store.unlink()
    base = ["rules", "backtest", "--config", str(site), "--from=-1d", "--to", "now"]
    assert main(base) == 1
    err = capsys.readouterr().err
    assert f"cannot read the stored readings in {store}" in err and "store.path" in err
    assert "Traceback" not in err


def _key(e: AlertEvent) -> tuple[object, ...]:
    return (e.kind, e.incident_key, e.ts, e.priority, e.title, e.body, e.value)


def test_backtest_equals_live(site: Path) -> None:
    cfg = load_config(site)
    rules = load_rule_files([site.parent / "rules"], cfg.assets)
    start, end = T0, T0 + 3600
    _, from_store = backtest(
        rules, cfg.assets, read_history(cfg.store.path, start, end), start=start, end=end, site="hq"
    )
    live = Engine(rules, cfg.assets, default_site="hq")  # as the daemon: one reading at a time
    events: list[AlertEvent] = []
    clock = start
    for reading in sorted(_history(), key=lambda r: r.ts):
        while clock < reading.ts:
            events += live.tick(clock)
            clock += 10.0
        events += live.process([reading], now=reading.ts)
    while clock <= end:
        events += live.tick(clock)
        clock += 10.0
    assert len(from_store) > 10
    assert [_key(e) for e in from_store] == [_key(e) for e in events]
