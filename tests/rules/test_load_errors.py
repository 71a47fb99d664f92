"""Broken rule files: never a traceback, always file:line:col with a way to fix it."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from gatewatch.core.yamlsource import ConfigError
from gatewatch.rules.language.load import load_rules
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rulehelpers import ASSETS, CONFIG

CASES = [
    ("rules:\n  - id: a\n    when: {above: [1\n", "4:1", "YAML syntax error"),
    (
        "rules:\n  - id: a\n    select: {metric: rope_break}\n    when: {abve: 1}\n",
        "4:11",
        "when: needs a condition",
    ),
    (
        "rules:\n  - id: a\n    select: {metric: rope_break}\n    when: {above: 1}\n    fro: 5m\n",
        "5:5",
        "did you mean 'for'?",
    ),
    (
        "rules:\n  - id: a\n    select: {metric: temperature}\n    when: {above: 27, clear: 28}\n",
        "4:30",
        "clear (28) must be at or below above (27)",
    ),
    (
        "rules:\n  - id: a\n    select: {metric: humidity}\n"
        "    when: {outside: [20, 60], clear: [10, 50]}\n",
        "4:38",
        "must lie inside",
    ),
    (
        "rules:\n  - id: a\n    select: {metric: temperature}\n"
        "    when: {above: 1}\n    for: 5 min\n",
        "5:10",
        "write a duration such as",
    ),
    (
        "rules:\n  - id: a\n    select: {class: lfit, metric: speed}\n    when: {above: 1}\n",
        "3:21",
        "did you mean 'lift'?",
    ),
    (
        "rules:\n  - id: a\n    select: {asset: lift-a9, metric: speed}\n    when: {above: 1}\n",
        "3:21",
        "unknown asset id 'lift-a9'; did you mean",
    ),
    (
        "rules:\n  - id: a\n    select: {class: lift, metric: sped}\n    when: {above: 1}\n",
        "3:35",
        "no selected asset has metric 'sped'; did you mean 'speed'?",
    ),
    (
        "rules:\n  - id: a\n    select: {metric: speed}\n    when: {expr: 'value >> 2'}\n",
        "4:25",
        "expected a number",
    ),
    (
        'rules:\n  - id: a\n    select: {metric: speed}\n    when: {expr: "__import__(1)"}\n',
        "4:18",
        "unknown function '__import__'",
    ),
    (
        "rules:\n  - id: a\n    select: {metric: speed}\n    when: {expr: value.real > 1}\n",
        "4:23",
        "unexpected character '.'",
    ),
    (
        "rules:\n  - id: a\n    select: {metric: speed}\n    when: {above: 1}\n"
        "    ticket: {title: 'x {asset.__class__}'}\n",
        "5:23",
        "unknown template field",
    ),
    (
        "rules:\n  - id: a\n    select: {metric: speed}\n    when: {above: 1}\n    priority: P0\n",
        "5:15",
        "must be P1, P2, P3 or P4",
    ),
    (
        "rules:\n  - id: a\n    select: {metric: speed}\n    when: {above: 1}\n"
        "  - id: a\n    select: {metric: speed}\n    when: {above: 2}\n",
        "5:5",
        "duplicate rule id",
    ),
    (
        "rules:\n  - id: a\n    when: {repeated: door, times: 3}\n",
        "2:5",
        "refers to unknown rule 'door'",
    ),
    (
        "rules:\n  - id: a\n    select: {metric: speed}\n    when: {above: 1, expr: value > 1}\n",
        "4:19",
        "mixes above, expr",
    ),
    ("rules:\n  - id: a\n    when: {above: 1}\n", "2:5", "select.metric is required"),
    (
        "rules:\n  - id: a\n    select: {metric: speed}\n    when: {above: 1}\n"
        "    ticket: {escalate: [{priority: P1}]}\n",
        "5:25",
        "needs after:",
    ),
    ("asset_classes: {lift: {min_priority: P9}}\n", "1:38", "must be P1, P2, P3 or P4"),
    ("- just a list\n", "1:1", "expected a mapping"),
]


@pytest.mark.parametrize(("text", "where", "message"), CASES)
def test_hand_written_broken_files(text: str, where: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_rules([("bad.yaml", text)], ASSETS)
    lines = [str(p) for p in info.value.problems]
    assert any(line.startswith(f"bad.yaml:{where}: ") and message in line for line in lines), lines


def test_all_problems_of_all_files_at_once_in_order() -> None:
    one = "rules:\n  - id: a\n    select: {metric: speed}\n    when: {above: x}\n    for: nope\n"
    two = "rules:\n  - id: b\n    select: {metric: speed}\n    when: {below: 1, clear: 0}\n"
    with pytest.raises(ConfigError) as info:
        load_rules([("one.yaml", one), ("two.yaml", two)], ASSETS)
    assert [f"{p.location.file}:{p.location.line}" for p in info.value.problems] == [
        "one.yaml:4",
        "one.yaml:5",
        "two.yaml:4",
    ]


VOCAB = [
    "rules",
    "id",
    "select",
    "when",
    "priority",
    "for",
    "clear_for",
    "keep_firing_for",
    "ticket",
    "above",
    "below",
    "outside",
    "clear",
    "expr",
    "clear_when",
    "rate_above",
    "window",
    "no_data_for",
    "site_silent_for",
    "repeated",
    "times",
    "within",
    "group_by",
    "all",
    "any",
    "metric",
    "class",
    "asset",
    "floor",
    "title",
    "body",
    "update_every",
    "escalate",
    "after",
    "asset_classes",
    "min_priority",
    "lift",
    "input",
    "expect",
    "series",
    "values",
    "interval",
    "at",
    "kind",
    "evidence",
    "until",
    "tick",
    "name",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 100),
    st.floats(allow_nan=True),
    st.sampled_from(["5m", "P1", "P9", "lift", "speed", "value > 1", "{value}", "{x", "[", "a"]),
    st.text(max_size=8),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(VOCAB), st.text(max_size=5)), inner, max_size=5),
    ),
    max_leaves=30,
)


def _assert_clean(text: str) -> None:
    try:
        load_rules([("fuzz.yaml", text)], ASSETS)
    except ConfigError as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.location.file == "fuzz.yaml"
            assert p.location.line >= 1
            assert p.location.column >= 1
            assert p.message


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_generated_documents_never_crash(doc: object) -> None:
    _assert_clean(yaml.safe_dump({"rules": [doc]} if isinstance(doc, dict) else doc))


SHIPPED = (CONFIG / "rules" / "lifts.yaml").read_text()


@settings(max_examples=120, deadline=None)
@given(st.integers(0, len(SHIPPED) - 1), st.integers(0, 20), st.text(max_size=4))
def test_mutated_shipped_file_never_crashes(at: int, cut: int, insert: str) -> None:
    _assert_clean(SHIPPED[:at] + insert + SHIPPED[at + cut :])


def test_indented_text_is_dedented_by_helpers_only() -> None:
    assert textwrap.dedent("  a") == "a"


TEST_FILE = (CONFIG / "rules" / "tests" / "lifts_test.yaml").read_text()


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(TEST_FILE) - 1), st.integers(0, 20), st.text(max_size=4))
def test_mutated_rule_test_file_never_crashes(at: int, cut: int, insert: str) -> None:
    from gatewatch.core.yamlsource import Problem
    from gatewatch.rules.ruletest import parse_test_file

    problems: list[Problem] = []
    try:
        parse_test_file(TEST_FILE[:at] + insert + TEST_FILE[at + cut :], "t.yaml", problems)
    except ConfigError as exc:
        problems = exc.problems
    assert all(p.location.file == "t.yaml" and p.location.line >= 1 for p in problems)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_generated_rule_test_documents_never_crash(doc: object) -> None:
    from gatewatch.core.yamlsource import Problem
    from gatewatch.rules.ruletest import parse_test_file

    text = yaml.safe_dump({"rule_files": [], "tests": [doc]} if isinstance(doc, dict) else doc)
    problems: list[Problem] = []
    try:
        parse_test_file(text, "t.yaml", problems)
    except ConfigError as exc:
        problems = exc.problems
    assert all(p.location.line >= 1 and p.location.column >= 1 for p in problems)
