"""The daemon-side runtime: state DB restore, silences from YAML and the CLI store, reload."""

from __future__ import annotations

import os
from pathlib import Path

from gatewatch.core.reading import Reading
from gatewatch.daemon.config.assets import load_assets
from gatewatch.daemon.run.rules_runtime import RulesRuntime, RulesSettings
from gatewatch.rules.language.silence import Match

CONFIG = Path(__file__).resolve().parents[3] / "config"
RULES = """
rules:
  - id: hot
    select: {class: pump, metric: bearing_temp}
    when: {above: 80, clear: 70}
    for: 1m
"""


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _runtime(tmp_path: Path, clock: Clock) -> RulesRuntime:
    settings = RulesSettings(
        paths=[tmp_path / "rules"], silences_file=tmp_path / "silences.yaml", refresh_every=0
    )
    assets = load_assets(CONFIG / "assets.yaml")
    return RulesRuntime(settings, assets, tmp_path / "state.db", site="hq", clock=clock)


def test_runtime_restart_silences_and_reload(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "pumps.yaml").write_text(RULES)
    clock = Clock(1_000_000.0)
    rt = _runtime(tmp_path, clock)
    rt.start()
    rt.silences.add(
        Match({"asset": frozenset({"pump-2"})}),
        clock.t,
        clock.t + 3600,
        comment="swap",
        by="test",
        now=clock.t,
    )
    assert (
        rt.on_readings(
            [Reading("hq", a, "bearing_temp", clock.t, 90) for a in ("pump-1", "pump-2")]
        )
        == []
    )
    rt.stop()  # kill mid-`for`

    clock.t += 60
    rt2 = _runtime(tmp_path, clock)
    rt2.start()
    events = rt2.on_tick()
    assert [(e.asset.id, e.ts) for e in events if e.asset] == [
        ("pump-1", 1_000_060.0)
    ]  # pump-2 muted

    (tmp_path / "rules" / "pumps.yaml").write_text(RULES.replace("above: 80", "above: [80"))
    os.utime(tmp_path / "rules" / "pumps.yaml", ns=(1, 1))
    clock.t += 10
    rt2.on_tick()  # the bad file is reported and the old rules keep running
    assert rt2.reloader is not None and rt2.reloader.failures == 1
    assert rt2.engine is not None and rt2.engine.rules.rules[0].id == "hot"
    (tmp_path / "silences.yaml").write_text("silences: [oops\n")
    rt2.on_tick()
    assert rt2.counters["silence_errors"] == 1
