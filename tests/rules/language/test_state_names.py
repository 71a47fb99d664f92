"""Rules on state-valued metrics: ``value == "stuck"`` is the state's number, fixed when
the rule is loaded; an unknown name is a load error with file:line:col and a
did-you-mean; tickets show the state's name through {state}."""

from __future__ import annotations

from types import MappingProxyType, SimpleNamespace

import pytest
from gatewatch.core.assets import AssetRegistry, parse_assets
from gatewatch.core.states import StateTable
from gatewatch.core.yamlsource import ConfigError
from gatewatch.rules.context import Context
from gatewatch.rules.language.expr import ExprError, compile_expression
from gatewatch.rules.language.load import load_rules
from gatewatch.rules.render import fields

BASE = parse_assets(
    """
assets:
  lift-1:
    class: lift
    metrics:
      door: {min: 0, max: 2}
      load: {unit: kg, min: 0, max: 2000}
""",
    "assets.yaml",
)
ASSETS = AssetRegistry(
    BASE.assets,
    BASE.source,
    StateTable.of([("door", {0.0: "closed", 1.0: "open", 2.0: "stuck"})]),
)


def rules(expr: str, metric: str = "door") -> str:
    select = f"    select: {{asset: lift-1, metric: {metric}}}\n"
    when = f"    when: {{expr: '{expr}'}}\n"
    return (
        "rules:\n  - id: door\n" + select + when + "    ticket: {title: 'door {state} ({value})'}\n"
    )


def test_a_state_name_compares_as_its_number() -> None:
    (rule,) = load_rules([("r.yaml", rules('value == "stuck" or value in ["open"]'))], ASSETS).rules
    expr = rule.condition.expr
    assert expr is not None
    series = [SimpleNamespace(value=v, prev=v) for v in (0.0, 1.0, 2.0)]
    assert [expr(s) for s in series] == [False, True, True]


def test_an_unknown_state_is_a_load_error_with_its_column_and_a_hint() -> None:
    with pytest.raises(ConfigError) as err:
        load_rules([("r.yaml", rules('value == "stuk"'))], ASSETS)
    (problem,) = err.value.problems
    assert (problem.location.file, problem.location.line) == ("r.yaml", 4)
    assert "unknown state 'stuk'; did you mean 'stuck'?" in problem.message


def test_a_metric_without_state_names_says_how_to_name_them() -> None:
    with pytest.raises(ConfigError, match="selected metric has none; name its states"):
        load_rules([("r.yaml", rules('value == "heavy"', metric="load"))], ASSETS)
    with pytest.raises(ExprError, match="unexpected character"):
        compile_expression('value == "unterminated', ("value",))


def test_tickets_render_the_state_name() -> None:
    (rule,) = load_rules([("r.yaml", rules('value == "stuck"'))], ASSETS).rules
    ctx = Context("hq", ASSETS.get("lift-1"), "lift-1", "door", 2.0)
    rendered = fields(rule, ctx, 2, 0.0, 0.0)
    assert rendered["state"] == "stuck" and rendered["value"] == "2"
    assert rule.title.render(rendered) == "door stuck (2)"
    unknown = Context("hq", ASSETS.get("lift-1"), "lift-1", "door", 7.0)
    assert fields(rule, unknown, 2, 0.0, 0.0)["state"] == ""


def test_registries_without_mappings_have_no_states() -> None:
    assert AssetRegistry(MappingProxyType({})).states.for_metric("door") is None
