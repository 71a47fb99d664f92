"""Hot reload: a bad reload keeps the previous rules running and alerting."""

from __future__ import annotations

import os
from pathlib import Path

from gatewatch.core.reading import Reading
from gatewatch.daemon.config.assets import load_assets
from gatewatch.daemon.config.rulefiles import load_rule_files
from gatewatch.daemon.run.rules_reload import RuleReloader
from gatewatch.rules.engine import Engine

CONFIG = Path(__file__).resolve().parents[3] / "config"
GOOD = """
rules:
  - id: hot
    select: {asset: server-room-1, metric: temperature}
    when: {above: 27, clear: 25}
    for: 5m
"""


def _touch(path: Path, text: str, tick: int) -> None:
    path.write_text(text)
    os.utime(path, ns=(tick * 10**9, tick * 10**9))  # distinct mtimes without sleeping


def test_bad_reload_keeps_the_last_good_rules_and_their_state(tmp_path: Path) -> None:
    assets = load_assets(CONFIG / "assets.yaml")
    rules_file = tmp_path / "rules.yaml"
    _touch(rules_file, GOOD, 1)
    engine = Engine(load_rule_files([tmp_path], assets), assets, default_site="hq")
    reloader = RuleReloader(engine, [tmp_path], assets)
    assert reloader.poll() is None
    engine.process([Reading("hq", "server-room-1", "temperature", 0, 30)])  # pending

    _touch(rules_file, GOOD.replace("above: 27", "above: [27"), 2)
    result = reloader.poll()
    assert result is not None and not result.ok
    assert str(result.problems[0]).startswith(f"{rules_file}:5:")
    assert (reloader.failures, reloader.reloads) == (1, 0)
    (event,) = engine.tick(300)  # the old rule still runs and its pending `for` fires
    assert (event.rule_id, event.ts) == ("hot", 300)

    _touch(rules_file, GOOD.replace("clear: 25", "clear: 24"), 3)
    result = reloader.poll()
    assert result is not None and result.ok
    assert reloader.reloads == 1
    assert engine.rules.rules[0].condition.band.clear_above == 24  # type: ignore[union-attr]
    assert engine.process([Reading("hq", "server-room-1", "temperature", 400, 31)]) == []
    (resolved,) = engine.process([Reading("hq", "server-room-1", "temperature", 500, 24)])
    assert resolved.kind == "resolved"  # firing state survived the reload
