"""The allowed imports between the rooms of gatewatch (docs/architecture.md), read off
the source, so an upward import or an import circle fails CI instead of creeping back.

Every import counts: module level, inside a function, under ``if TYPE_CHECKING:``. A
room may import itself and the rooms listed for it in ALLOWED, nothing else; the
modules of the whole tree form no cycle; a value shared by several packages has one
home (core/), so no class outside core/ has the name of one of core/'s.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
G = "gatewatch."
PACKAGES = ("sensors", "rules", "anomaly", "ticketing_client")  # each beside the others
OFFLINE_ANOMALY = G + "anomaly.benchmark"  # scoring on public data: never on the live path
LOWER = {G + "core", OFFLINE_ANOMALY, *(G + p for p in PACKAGES)}


def _allowed() -> dict[str, set[str]]:
    """Room -> the rooms it may import besides itself. A module's room is the longest
    room name it starts with (anomaly/wear/ is anomaly's). Lower layers never import
    higher ones; the daemon's rooms form their own order below."""
    rooms: dict[str, set[str]] = {G + "core": set()}
    rooms |= {G + p: {G + "core"} for p in PACKAGES}
    rooms[OFFLINE_ANOMALY] = {G + "core", G + "anomaly"}
    daemon = {
        "config": set(),
        "state": set(),
        "ops": {"config"},
        "offline": {"config"},
        "run": {"config", "state", "ops"},
        "demo": {"config", "state", "ops", "run"},
        "bench": {"config", "state", "ops", "run", "offline", "demo"},
        "commands": {"config", "state", "ops", "run", "offline", "demo", "bench"},
    }
    for room, uses in daemon.items():
        rooms[f"{G}daemon.{room}"] = LOWER | {f"{G}daemon.{u}" for u in uses}
    rooms[G + "daemon"] = set()  # the package itself holds no code
    return rooms


ALLOWED = _allowed()


def modules() -> dict[str, Path]:
    """Every module of the installed tree: gatewatch.<pkg>... -> its source file."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    found: dict[str, Path] = {}
    for package, folder in config["tool"]["setuptools"]["package-dir"].items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def imports_of(name: str, path: Path, known: Iterable[str]) -> set[str]:
    """The gatewatch modules ``name`` imports, wherever in the file the import stands."""
    known = set(known)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out |= {_module(a.name, known) for a in node.names if a.name.startswith(G)}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # from .x import y: relative to this module's package
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            if base.startswith(G):
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    out.add(sub if sub in known else _module(base, known))
    out.discard(name)
    return out


def _module(dotted: str, known: set[str]) -> str:
    while dotted not in known and "." in dotted:
        dotted = dotted.rpartition(".")[0]
    return dotted


def room_of(module: str) -> str:
    return max((r for r in ALLOWED if module == r or module.startswith(r + ".")), key=len)


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, found) for name, path in found.items()}


def upward(edges: Mapping[str, set[str]]) -> list[str]:
    bad = []
    for src, targets in sorted(edges.items()):
        room = room_of(src)
        for dst in sorted(targets):
            target = room_of(dst)
            if target != room and target not in ALLOWED[room]:
                bad.append(f"{src} imports {dst}: {room} may import {sorted(ALLOWED[room])}")
    return bad


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def second_homes(found: Mapping[str, Path]) -> list[str]:
    """Classes outside core/ named like a class of core/: a shared value with two homes."""
    defined: dict[str, set[str]] = {}
    for name, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                defined.setdefault(node.name, set()).add(name)
    core = {c for c, homes in defined.items() if any(h.startswith(G + "core.") for h in homes)}
    return sorted(f"{c}: {sorted(defined[c])}" for c in core if len(defined[c]) > 1)


def test_every_module_belongs_to_a_room() -> None:
    assert all(room_of(m) for m in modules())
    rooms = {room_of(m) for m in modules()}
    assert {G + "core", G + "daemon.run", G + "daemon.commands"} <= rooms


def test_no_room_imports_one_it_may_not() -> None:
    assert upward(graph()) == []


def test_no_import_circle_anywhere() -> None:
    assert cycles(graph()) == []


def test_a_shared_value_has_one_home() -> None:
    assert second_homes(modules()) == []


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("gatewatch.sensors.store.influx", "gatewatch.daemon.config.load"),  # issue 14
        ("gatewatch.ticketing_client.render", "gatewatch.sensors.decode"),  # issue 14
        ("gatewatch.rules.engine", "gatewatch.anomaly.pipeline"),
        ("gatewatch.core.events", "gatewatch.rules.language.model"),
        ("gatewatch.anomaly.wear.tracker", "gatewatch.anomaly.benchmark.evaluate"),
        ("gatewatch.daemon.ops.metrics", "gatewatch.daemon.run.pipeline"),
        ("gatewatch.daemon.run.pipeline", "gatewatch.daemon.commands.main"),
        ("gatewatch.daemon.config.load", "gatewatch.daemon.run.pipeline"),
    ],
)
def test_the_checker_refuses_an_upward_import(src: str, dst: str) -> None:
    assert len(upward({src: {dst}})) == 1


def test_the_checker_finds_a_circle_through_a_function_level_import(tmp_path: Path) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from gatewatch.rules import b\n")
    b.write_text("def f():\n    from gatewatch.rules.a import X\n")
    names = {"gatewatch.rules.a", "gatewatch.rules.b"}
    edges = {
        "gatewatch.rules.a": imports_of("gatewatch.rules.a", a, names),
        "gatewatch.rules.b": imports_of("gatewatch.rules.b", b, names),
    }
    assert cycles(edges) == [sorted(names)]


def test_the_checker_sees_type_checking_and_relative_imports(tmp_path: Path) -> None:
    path = tmp_path / "persist.py"
    path.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from gatewatch.rules.engine import Engine\nfrom .series import Series\n"
    )
    names = {"gatewatch.rules.engine", "gatewatch.rules.series", "gatewatch.rules.persist"}
    found = imports_of("gatewatch.rules.persist", path, names)
    assert found == {"gatewatch.rules.engine", "gatewatch.rules.series"}


def test_a_second_home_of_a_core_value_is_found(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("class Reading:\n    pass\n")
    (tmp_path / "b.py").write_text("class Reading:\n    pass\nclass Other:\n    pass\n")
    (tmp_path / "c.py").write_text("class Other:\n    pass\n")
    found = {
        "gatewatch.core.reading": tmp_path / "a.py",
        "gatewatch.sensors.reading": tmp_path / "b.py",
        "gatewatch.rules.other": tmp_path / "c.py",
    }
    assert second_homes(found) == [
        "Reading: ['gatewatch.core.reading', 'gatewatch.sensors.reading']"
    ]
