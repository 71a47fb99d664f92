"""daemon/ops/native.py and setup.py's mypyc build: compiled when expected, never stale.

scripts/test sets GATEWATCH_EXPECT_NATIVE=1 (unless GATEWATCH_MYPYC=off): CI then
proves that the rule tests ran against compiled modules, not the pure fallback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import gatewatch.rules.engine
import gatewatch.rules.machine
import gatewatch.rules.replay
import gatewatch.rules.series
import pytest
from gatewatch.daemon.ops.native import MANIFEST, check_folder, is_extension, native_build, sha256

SUFFIX = EXTENSION_SUFFIXES[0]
EXPECTED = tuple(f"gatewatch.rules.{m}" for m in ("engine", "machine", "replay", "series"))
EXPECT_NATIVE = os.environ.get("GATEWATCH_EXPECT_NATIVE") == "1"


def _package(tmp_path: Path, modules: dict[str, str], manifest: object) -> Path:
    """A package folder: module.py sources, a (dummy) binary for each, and a manifest."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name, source in modules.items():
        (tmp_path / f"{name}.py").write_text(source)
        (tmp_path / f"{name}{SUFFIX}").write_bytes(b"\x7fELF")
    (tmp_path / f"_native__mypyc{SUFFIX}").write_bytes(b"\x7fELF")
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    return tmp_path


def test_a_binary_built_from_the_current_source_is_fine(tmp_path: Path) -> None:
    folder = _package(tmp_path, {"engine": "x = 1\n"}, {})
    hashes = {"pkg.engine": sha256(folder / "engine.py")}
    (folder / MANIFEST).write_text(json.dumps({"compiled": True, "modules": hashes}))
    build = check_folder(folder, "pkg")
    assert build.compiled == ("pkg.engine",)  # the shared __mypyc library is no module
    assert build.problems == ()
    assert build.reason == ""


def test_an_edited_source_makes_its_binary_stale(tmp_path: Path) -> None:
    folder = _package(tmp_path, {"engine": "x = 1\n", "machine": "y = 2\n"}, {})
    hashes = {f"pkg.{m}": sha256(folder / f"{m}.py") for m in ("engine", "machine")}
    (folder / MANIFEST).write_text(json.dumps({"compiled": True, "modules": hashes}))
    (folder / "engine.py").write_text("x = 2\n")
    (problem,) = check_folder(folder, "pkg").problems
    assert problem.startswith(f"pkg.engine: engine{SUFFIX} was built from another engine.py")
    assert "scripts/setup" in problem


def test_an_edited_module_they_were_compiled_against_makes_the_build_stale(
    tmp_path: Path,
) -> None:
    folder = _package(tmp_path / "gw" / "rules", {"engine": "x = 1\n"}, {})
    (tmp_path / "gw" / "anomaly").mkdir()
    (tmp_path / "gw" / "anomaly" / "signals.py").write_text("LIMIT: Final = 3\n")
    hashes = {"pkg.engine": sha256(folder / "engine.py")}
    inputs = {"anomaly/signals.py": sha256(tmp_path / "gw" / "anomaly" / "signals.py")}
    manifest = {"compiled": True, "modules": hashes, "inputs": inputs}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    assert check_folder(folder, "pkg").problems == ()
    (tmp_path / "gw" / "anomaly" / "signals.py").write_text("LIMIT: Final = 4\n")
    (problem,) = check_folder(folder, "pkg").problems
    assert problem.startswith("the compiled modules were built against another anomaly/signals.py")


def test_a_binary_without_manifest_or_missing_from_it_is_a_problem(tmp_path: Path) -> None:
    folder = _package(tmp_path, {"engine": "x = 1\n"}, {"compiled": False, "reason": "no gcc"})
    assert check_folder(folder, "pkg").problems == (
        f"pkg.engine: engine{SUFFIX} is not in {MANIFEST}: rebuild with scripts/setup,"
        " or drop the binaries with GATEWATCH_MYPYC=off scripts/setup",
    )
    (folder / MANIFEST).unlink()
    assert len(check_folder(folder, "pkg").problems) == 1


def test_a_manifest_module_without_binary_is_a_partial_build(tmp_path: Path) -> None:
    folder = _package(tmp_path, {}, {"compiled": True, "modules": {"pkg.series": "ab"}})
    build = check_folder(folder, "pkg")
    assert build.compiled == ()
    assert build.problems == (
        f"pkg.series: listed in {MANIFEST} but no binary: rebuild with scripts/setup,"
        " or drop the binaries with GATEWATCH_MYPYC=off scripts/setup",
    )


def test_pure_python_reports_why(tmp_path: Path) -> None:
    (tmp_path / "engine.py").write_text("x = 1\n")
    (tmp_path / MANIFEST).write_text(json.dumps({"compiled": False, "reason": "no gcc"}))
    build = check_folder(tmp_path, "pkg")
    assert (build.compiled, build.problems, build.reason) == ((), (), "no gcc")


def test_the_installed_rule_engine_matches_its_sources() -> None:
    assert native_build().problems == ()


@pytest.mark.skipif(not EXPECT_NATIVE, reason="GATEWATCH_EXPECT_NATIVE=1 not set (scripts/test)")
def test_the_tested_rule_engine_is_the_compiled_one() -> None:
    build = native_build()
    assert build.compiled == EXPECTED, build.reason
    rules = gatewatch.rules
    for module in (rules.engine, rules.machine, rules.replay, rules.series):
        assert is_extension(module.__file__ or ""), module.__file__


@pytest.mark.skipif(not EXPECT_NATIVE, reason="GATEWATCH_EXPECT_NATIVE=1 not set (scripts/test)")
def test_editing_a_compiled_source_is_caught_on_the_real_build(tmp_path: Path) -> None:
    rules = Path(gatewatch.rules.engine.__file__ or "").parent
    for pkg in ("core", "rules", "anomaly"):  # setup.py's COMPILED_AGAINST
        shutil.copytree(rules.parent / pkg, tmp_path / pkg)
    copy = tmp_path / "rules"
    assert check_folder(copy, "gatewatch.rules").problems == ()
    with (copy / "machine.py").open("a") as source:
        source.write("# an edit after the build\n")
    problems = check_folder(copy, "gatewatch.rules").problems
    assert problems[0].startswith("gatewatch.rules.machine: machine.cpython")
    assert problems[1].startswith("the compiled modules were built against another rules/machine")
    shutil.copy(rules / "machine.py", copy / "machine.py")
    with (tmp_path / "rules" / "language" / "model.py").open("a") as source:
        source.write("# not compiled, but the compiled modules use its types\n")
    (problem,) = check_folder(copy, "gatewatch.rules").problems
    assert problem.startswith(
        "the compiled modules were built against another rules/language/model.py"
    )


def test_the_command_prints_the_state() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "gatewatch.daemon.ops.native"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("gatewatch rule engine: ")
    assert ("compiled with mypyc: gatewatch.rules.engine" in run.stdout) == bool(
        native_build().compiled
    )
