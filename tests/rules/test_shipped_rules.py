"""The shipped example rules and their YAML tests (DESIGN.md incidents 1-4, 6)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gatewatch.daemon.commands.main import main
from gatewatch.daemon.offline.ruletests import run_file

CONFIG = Path(__file__).resolve().parents[2] / "config"
TEST_FILES = sorted((CONFIG / "rules" / "tests").glob("*.yaml"))
RULE_FILES = sorted((CONFIG / "rules").glob("*.yaml"))


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_rule_test_file_passes(path: Path) -> None:
    results = run_file(path)
    assert results, f"{path} has no tests"
    for result in results:
        assert result.ok, "\n".join([result.case.name, *result.failures])


def test_every_shipped_rule_is_exercised_by_a_test() -> None:
    fired = {e.rule_id for path in TEST_FILES for r in run_file(path) for e in r.events}
    from gatewatch.daemon.config.assets import load_assets
    from gatewatch.daemon.config.rulefiles import load_rule_files

    rules = load_rule_files(RULE_FILES, load_assets(CONFIG / "assets.yaml"))
    ticketed = {r.id for r in rules.rules if r.notify}
    assert ticketed - fired == set()


def test_rules_check_accepts_the_shipped_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(CONFIG / "rules")]) == 0
    assert "OK: 15 rules" in capsys.readouterr().out


def test_rules_test_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "test", str(CONFIG / "rules" / "tests")]) == 0
    assert "14 passed, 0 failed" in capsys.readouterr().out
    broken = tmp_path / "t.yaml"
    broken.write_text(
        (CONFIG / "rules" / "tests" / "fire_test.yaml")
        .read_text()
        .replace("[../fire.yaml]", f"[{CONFIG}/rules/fire.yaml]")
        .replace("../../assets.yaml", f"{CONFIG}/assets.yaml")
        .replace("{at: 2m, kind: fired", "{at: 3m, kind: fired")
    )
    assert main(["rules", "test", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out
    assert "1 failed" in out


def _first_fired(test_file: str, rule_id: str):  # type: ignore[no-untyped-def]
    for result in run_file(CONFIG / "rules" / "tests" / test_file):
        for event in result.events:
            if event.rule_id == rule_id and event.kind == "fired":
                return event
    raise AssertionError(f"{rule_id} never fired in {test_file}")


def test_incident_policies_reach_the_ticketing_contract() -> None:
    rope = _first_fired("lifts_test.yaml", "lift-rope-break")
    assert (rope.priority, rope.policy.update_interval, rope.policy.resolve_on_clear) == (
        1,
        300,
        False,
    )
    assert rope.asset.responsible.name == "LiftCo Service"  # incident 5: the asset card
    assert rope.asset.checklist_url.endswith("/lift-a1")
    hot = _first_fired("server_room_test.yaml", "server-room-overheating")
    (esc,) = hot.policy.escalations
    assert (hot.priority, hot.policy.update_interval) == (1, 900)
    assert (esc.after, esc.raise_priority_to, esc.queue) == (420, 1, "facilities-supervisors")
    assert hot.trend_per_min == pytest.approx(0.4)
    assert hot.incident_key == "server-room-overheating:hq/server-room-1/temperature"
    fault = _first_fired("fire_test.yaml", "fire-panel-fault")
    (auto,) = fault.policy.escalations  # incident 4: class policy, escalate after 5 minutes
    assert (fault.priority, auto.after, auto.raise_priority_to) == (2, 300, 1)
    repeated = _first_fired("lifts_test.yaml", "lift-door-fault-repeated")
    assert repeated.potentially_critical and len(repeated.related) == 2
    assert repeated.incident_key == "lift-door-fault-repeated:building=HQ/floor=0"
