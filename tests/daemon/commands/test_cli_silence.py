"""`gatewatch silence add|list|expire` against the state database; every change is logged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from gatewatch.core.reading import Reading
from gatewatch.daemon.commands.main import main
from gatewatch.daemon.config.load import load_config
from gatewatch.daemon.state.silences import SilenceStore
from gatewatch.rules.engine import Engine
from gatewatch.rules.language.load import load_rules

CONFIG = Path(__file__).resolve().parents[3] / "config"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    shutil.copy(CONFIG / "assets.yaml", tmp_path / "assets.yaml")
    path = tmp_path / "gatewatch.yaml"
    path.write_text("site: hq\nstate_dir: state\nassets: assets.yaml\n")
    return path


def test_add_list_expire_and_the_change_log(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["silence", "add", "--config", str(config), "--match", "asset=pump-1"]
    assert main([*base, "--for", "2h", "--comment", "bearing swap", "--by", "ana"]) == 0
    sid = capsys.readouterr().out.strip()
    assert main(["silence", "list", "--config", str(config), "--json"]) == 0
    (item,) = json.loads(capsys.readouterr().out)["silences"]
    assert (item["id"], item["match"], item["created_by"]) == (sid, {"asset": ["pump-1"]}, "ana")
    assert item["ends"] - item["starts"] == pytest.approx(7200)

    store = SilenceStore(load_config(config).state_db)
    (active,) = store.active(item["starts"] + 10)
    rules = load_rules(
        [
            (
                "r.yaml",
                "rules:\n  - id: hot\n    select: {metric: bearing_temp}\n    when: {above: 80}\n",
            )
        ],
        load_config(config).assets,
    )
    engine = Engine(rules, load_config(config).assets, default_site="hq")
    engine.set_silences([active.silence])
    t = item["starts"] + 60
    events = engine.process([Reading("hq", a, "bearing_temp", t, 90) for a in ("pump-1", "pump-2")])
    assert [e.asset.id for e in events if e.asset] == ["pump-2"]

    assert main(["silence", "expire", "--config", str(config), sid, "--by", "ben"]) == 0
    assert main(["silence", "expire", "--config", str(config), sid]) == 1
    assert main(["silence", "list", "--config", str(config), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["silences"] == []
    assert [(action, i) for _, action, i, _ in store.changes()] == [("add", sid), ("expire", sid)]


def test_bad_silence_arguments_are_usage_errors(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["silence", "add", "--config", str(config), "--comment", "x"]
    assert main([*base, "--match", "assett=pump-1", "--for", "1h"]) == 2
    assert "key must be one of" in capsys.readouterr().err
    assert main([*base, "--match", "asset=pump-1"]) == 2
    assert "exactly one of --for" in capsys.readouterr().err
    assert main([*base, "--match", "asset=pump-1", "--for", "2 hours"]) == 2
