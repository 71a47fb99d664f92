"""DESIGN.md: rules/ and anomaly/ are a pure core (no network, no disk, no wall clock).

Checked on the source, so a stray ``import sqlite3`` or ``time.time()`` in the
core fails CI rather than quietly making backtests differ from live.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ("core", "rules", "anomaly")
IMPURE_MODULES = {
    "asyncio", "http", "httpx", "influxdb_client", "io", "os", "paho", "aiomqtt",
    "pathlib", "requests", "select", "shutil", "socket", "sqlite3", "subprocess",
    "tempfile", "threading", "time", "urllib", "structlog", "logging",
}  # fmt: skip
IO_PACKAGES = ("gatewatch.sensors", "gatewatch.daemon", "gatewatch.ticketing_client")
WALL_CLOCK = {"now", "utcnow", "today"}


def _core_files() -> list[Path]:
    return sorted(p for pkg in CORE for p in (ROOT / pkg).rglob("*.py"))


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            if name.split(".")[0] in IMPURE_MODULES or name.startswith(IO_PACKAGES):
                found.append(f"line {node.lineno}: imports {name}")
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "open":
                found.append(f"line {node.lineno}: calls open()")
            if isinstance(func, ast.Attribute) and func.attr in WALL_CLOCK:
                found.append(f"line {node.lineno}: reads the wall clock (.{func.attr}())")
    return found


def test_the_checker_sees_what_it_must_refuse(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import time\nfrom gatewatch.sensors.store import sqlite\n"
        "import datetime\nx = datetime.datetime.now()\nopen('f')\n"
    )
    assert len(_problems(bad)) == 4


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_does_no_io_and_reads_no_wall_clock(path: Path) -> None:
    assert _problems(path) == []
