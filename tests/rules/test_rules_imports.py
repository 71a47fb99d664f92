"""rules/ has no import circle: every import counts, at module level, in a function or
under ``if TYPE_CHECKING:`` (a circle hidden in a function is still a circle)."""

from __future__ import annotations

import ast
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "rules"
PACKAGE = "gatewatch.rules"


def imports(path: Path) -> set[str]:
    """The rules/ modules a module imports, anywhere in it."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        out |= {n.removeprefix(PACKAGE + ".") for n in names if n.startswith(PACKAGE + ".")}
    return out


def graph() -> dict[str, set[str]]:
    modules = {p.stem for p in RULES.glob("*.py")}
    return {p.stem: imports(p) & modules - {p.stem} for p in RULES.glob("*.py")}


def cycle(edges: dict[str, set[str]]) -> list[str]:
    """One import circle, as the modules along it, or [] if there is none."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str]:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return []
        for target in sorted(edges[module]):
            found = visit(target, [*path, module])
            if found:
                return found
        done.add(module)
        return []

    for module in sorted(edges):
        found = visit(module, [])
        if found:
            return found
    return []


def test_rules_has_no_import_cycle() -> None:
    edges = graph()
    assert {"engine", "persist", "series", "render", "snapshot"} <= set(edges)
    assert cycle(edges) == []


def test_the_cycle_finder_sees_a_circle_of_any_length() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) == []


def test_the_engine_state_codec_does_not_know_the_engine() -> None:
    assert "engine" not in graph()["persist"] and "engine" not in graph()["snapshot"]
