"""Hostile YAML is refused fast, in little memory, naming the file, the place and the
limit (issue 18, point 5). Every YAML the daemon reads goes through parse_yaml."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from gatewatch.core.yamlsource import ConfigError, YamlLimits, parse_yaml

SECONDS = 2.0  # each refusal, on a slow shared core (they take 1-500 ms)
PEAK_BYTES = 20 * 1024 * 1024  # Python allocations while refusing


def billion_laughs(levels: int = 9, fan: int = 9) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * fan) + "]")
    return "\n".join(lines) + "\n"


def merge_bomb(levels: int = 9, fan: int = 9) -> str:
    lines = ["m0: &m0 {a: 1}"]
    for i in range(1, levels):
        lines.append(f"m{i}: &m{i} {{<<: [" + ", ".join([f"*m{i - 1}"] * fan) + "]}")
    return "\n".join(lines) + "\n"


def refused(run: Callable[[], Any]) -> str:
    """The error; timed on its own, then run again under tracemalloc for the peak."""
    began = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        run()
    seconds = time.perf_counter() - began
    assert seconds < SECONDS, f"took {seconds:.2f} s"
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError):
            run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"peak {peak / 1e6:.1f} MB"
    return str(err.value)


def test_a_billion_laughs_is_refused_without_expanding_it() -> None:
    text = billion_laughs()
    msg = refused(lambda: parse_yaml(text, "bomb.yaml"))
    assert msg.startswith("bomb.yaml:") and "max_values" in msg and "500,000" in msg


def test_a_merge_key_bomb_is_refused_before_the_merge_is_built() -> None:
    text = merge_bomb()
    msg = refused(lambda: parse_yaml(text, "merge.yaml"))
    assert msg.startswith("merge.yaml:") and "max_values" in msg


@pytest.mark.parametrize("opener", ["[", "{a: "])
def test_deep_nesting_is_refused_at_the_limit(opener: str) -> None:
    text = "x: " + opener * 100_000
    msg = refused(lambda: parse_yaml(text, "deep.yaml"))
    assert msg.startswith("deep.yaml:1:") and "deeper than 64 levels" in msg
    assert "max_depth" in msg


def test_nesting_through_aliases_counts_too() -> None:
    inner = "a: &a " + "[" * 40 + "1" + "]" * 40
    text = inner + "\nb: " + "[" * 40 + "*a" + "]" * 40 + "\n"
    assert "max_depth" in refused(lambda: parse_yaml(text, "deep.yaml"))


def test_millions_of_small_values_are_refused_after_the_limit_not_at_the_end() -> None:
    text = "[" + ",".join(["1"] * 2_000_000) + "]"  # 4 MB, under the size limit
    msg = refused(lambda: parse_yaml(text, "flat.yaml"))
    assert msg.startswith("flat.yaml:1:") and "max_values" in msg


def test_too_many_aliases_and_a_recursive_alias_are_refused() -> None:
    many = "a: &a 1\nb: [" + ", ".join(["*a"] * 20_000) + "]\n"
    assert "max_aliases" in refused(lambda: parse_yaml(many, "aliases.yaml"))
    msg = refused(lambda: parse_yaml("a: &a [1, *a]\n", "loop.yaml"))
    assert msg.startswith("loop.yaml:1:") and "recursive YAML" in msg


def test_text_over_the_size_limit_is_refused_before_parsing() -> None:
    text = "a: 1\n" * 2_000_000  # 10 MB
    msg = refused(lambda: parse_yaml(text, "big.yaml"))
    assert msg.startswith("big.yaml:1:1: file too large") and "8,388,608" in msg


def test_ordinary_files_with_anchors_still_load_and_limits_are_exact() -> None:
    doc = parse_yaml("base: &b {unit: C}\nt1: *b\nt2: {<<: *b, max: 80}\n", "ok.yaml")
    assert doc == {"base": {"unit": "C"}, "t1": {"unit": "C"}, "t2": {"unit": "C", "max": 80}}
    tight = YamlLimits(max_values=4, max_depth=2, max_aliases=1)
    assert parse_yaml("a: [1]\n", "ok.yaml", tight) == {"a": [1]}  # 4 values (keys too)
    with pytest.raises(ConfigError, match="more than 4 values"):
        parse_yaml("a: [1, 2]\n", "x.yaml", tight)
    with pytest.raises(ConfigError, match="deeper than 2"):
        parse_yaml("a: [[1]]\n", "x.yaml", tight)
    with pytest.raises(ConfigError, match="more than 1 aliases"):
        parse_yaml("[&a 1, *a, *a]\n", "x.yaml", tight)


def test_without_libyaml_the_composer_counts_the_same_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import yaml

    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    tight = YamlLimits(max_values=1000, max_depth=8, max_aliases=10)
    flat = "[" + ",".join(["1"] * 100_000) + "]"
    assert "more than 1,000 values" in refused(lambda: parse_yaml(flat, "f.yaml", tight))
    deep = "[" * 10_000
    assert "deeper than 8" in refused(lambda: parse_yaml(deep, "d.yaml", tight))
    many = "[&a 1, " + ", ".join(["*a"] * 50) + "]"
    assert "more than 10 aliases" in refused(lambda: parse_yaml(many, "a.yaml", tight))
    assert "max_values" in refused(lambda: parse_yaml(billion_laughs(), "b.yaml"))
