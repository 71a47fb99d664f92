from __future__ import annotations

from gatewatch.core.states import StateNames, StateTable

DOOR = {0.0: "closed", 1.0: "open", 2.0: "stuck"}


def test_names_and_numbers_both_ways() -> None:
    names = StateNames(DOOR)
    assert names.number("stuck") == 2.0 and names.number("OPEN") == 1.0
    assert names.number("ajar") is None
    assert names.name(0.0) == "closed" and names.name(5.0) is None
    assert names.known == ("closed", "open", "stuck")


def test_an_exact_metric_wins_then_the_most_literal_pattern() -> None:
    table = StateTable.of(
        [("*.output", {1.0: "on"}), ("switch:0.output", {1.0: "ON!"}), ("*put", {1.0: "x"})]
    )
    exact, pattern = table.for_metric("switch:0.output"), table.for_metric("relay.output")
    assert exact is not None and exact.name(1.0) == "ON!"
    assert pattern is not None and pattern.name(1.0) == "on"
    assert table.for_metric("temperature") is None
    assert StateTable.of([("empty", {})]).entries == ()
