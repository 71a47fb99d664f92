"""Event titles and bodies are rendered on first read, and a backtest never reads them."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Mapping
from pathlib import Path

import pytest
from gatewatch.core.assets import AssetRegistry
from gatewatch.core.events import AlertEvent, EventKind, EventText, Renderer, TicketPolicy
from gatewatch.daemon.bench.rules import world
from gatewatch.daemon.offline.ruletests import load_test_file
from gatewatch.rules import render
from gatewatch.rules.backtest import backtest
from gatewatch.rules.engine import Engine
from gatewatch.rules.language.model import RuleSet
from gatewatch.rules.language.template import Template
from gatewatch.rules.replay import History, replay
from gatewatch.rules.series import Binding

CONFIG = Path(__file__).resolve().parents[2] / "config"
TEST_FILES = sorted((CONFIG / "rules" / "tests").glob("*.yaml"))


def shipped_events(path: Path) -> list[AlertEvent]:
    """Every event of a shipped rule test file, each case on a fresh engine."""
    spec, rules, assets = load_test_file(path)
    registry = assets or AssetRegistry.empty()
    out: list[AlertEvent] = []
    for case in spec.cases:
        engine = Engine(rules, registry, default_site=case.site)
        out += replay(engine, case.samples, start=case.start, until=case.until, tick=case.tick)
    return out


def eager(renderer: Renderer) -> EventText:
    """What the engine did before: render at once, when the event is made."""
    return EventText.plain(*renderer())


def reference_event(
    self: Engine, b: Binding, kind: EventKind, ts: float, policy: TicketPolicy | None = None
) -> AlertEvent:
    """The event as the engine made it before: every one from ``Binding.context()``."""
    st = b.state
    return render.build_event(
        b.rule,
        kind,
        key=st.key,
        ts=ts,
        since=st.firing_since,
        priority=st.priority,
        policy=render.effective(b.rule, self._asset_of(b), self.rules.class_policies)[1],
        ctx=b.context(),
    )


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_events_equal_those_made_from_a_context_and_rendered_at_once(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lazy = shipped_events(path)  # rendered below, long after the engine moved on
    assert lazy and not any(e.text.rendered for e in lazy)
    with monkeypatch.context() as m:
        m.setattr(render, "EventText", eager)
        m.setattr(Engine, "_event", reference_event)
        made = shipped_events(path)
    assert all(e.text.rendered for e in made)
    assert [(e.title, e.body) for e in lazy] == [(e.title, e.body) for e in made]
    assert all(e.title and e.body for e in lazy)
    assert lazy == made


def test_text_equality_hash_copy_and_pickle() -> None:
    calls: list[int] = []

    def renderer() -> tuple[str, str]:
        calls.append(1)
        return "Pump 1 hot", "above 80 C"

    lazy, plain = EventText(renderer), EventText.plain("Pump 1 hot", "above 80 C")
    assert not lazy.rendered
    assert lazy == plain and hash(lazy) == hash(plain)
    assert lazy != EventText.plain("Pump 1 hot", "above 90 C")
    assert (lazy.title, lazy.body) == ("Pump 1 hot", "above 80 C")
    assert calls == [1]  # rendered once, then kept
    clone = pickle.loads(pickle.dumps(EventText(renderer)))  # the renderer stays behind
    assert (clone.title, clone.body, clone.rendered) == ("Pump 1 hot", "above 80 C", True)
    assert copy.deepcopy(lazy) == lazy
    assert repr(plain) == "EventText(title='Pump 1 hot', body='above 80 C')"


class Unrenderable(Template):
    """A template that fails the test if anything renders it."""

    def render(self, values: Mapping[str, str]) -> str:
        raise AssertionError(f"rendered {self.source!r}")


def unrenderable(rules: RuleSet) -> RuleSet:
    def swap(t: Template) -> Template:
        return Unrenderable(t.source, t.parts)

    swapped = [dataclasses.replace(r, title=swap(r.title), body=swap(r.body)) for r in rules.rules]
    return dataclasses.replace(rules, rules=tuple(swapped))


def test_backtest_never_renders_a_title_or_body() -> None:
    w = world(40, 200)  # the benchmark's world and values: thresholds crossed often
    names = {k: ("hq", asset, metric) for k, (asset, metric) in enumerate(w.series)}
    start = 1_700_000_000.0
    rows = [(k, start + j * 60.0, 50.0 + j % 40) for j in range(300) for k in names]
    end = rows[-1][1]

    def run(rules: RuleSet) -> tuple[dict[str, dict[str, float | int]], list[AlertEvent]]:
        history = History(names, iter([rows]))
        summary, events = backtest(rules, w.assets, history, start=start, end=end, site="hq")
        return {k: s.as_dict() for k, s in summary.rules.items()}, events

    (plain, plain_events), (counted, events) = run(w.rules), run(unrenderable(w.rules))
    assert counted == plain and sum(s["alerts"] for s in counted.values()) > 10
    assert [(e.kind, e.incident_key, e.ts) for e in events] == [
        (e.kind, e.incident_key, e.ts) for e in plain_events
    ]
    assert not any(e.text.rendered for e in events)
    with pytest.raises(AssertionError, match="rendered"):
        _ = events[0].title  # the swapped templates are live: reading would have failed
