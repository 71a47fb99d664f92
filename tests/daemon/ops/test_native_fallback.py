"""setup.py: a failed compile gives a working pure-Python wheel, says why, and leaves no binary.

A real wheel build of a copy of the project (pip, build isolation, mypyc) with a C
compiler that always fails (CC=/bin/false), as on a gateway without gcc.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest
from gatewatch.daemon.ops.native import MANIFEST

ROOT = Path(__file__).resolve().parents[3]
PROJECT = ("setup.py", "pyproject.toml", "README.md")
PACKAGES = tuple(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-dir"
    ].values()
)


def _copy_project(dest: Path) -> Path:
    dest.mkdir()
    for name in PROJECT:
        shutil.copy(ROOT / name, dest / name)
    skip = shutil.ignore_patterns("__pycache__", "*.so", "*.pyd", MANIFEST)
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, dest / pkg, ignore=skip)
    return dest


@pytest.mark.slow
def test_no_c_compiler_builds_a_pure_wheel_and_says_why(tmp_path: Path) -> None:
    project = _copy_project(tmp_path / "project")
    env = {**os.environ, "CC": "/bin/false", "GATEWATCH_MYPYC": "auto"}
    run = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(tmp_path), "."],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "gatewatch: rule engine NOT compiled: CompileError" in run.stdout + run.stderr
    (wheel,) = tmp_path.glob("gatewatch-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "gatewatch/rules/engine.py" in names
    assert not [n for n in names if n.endswith(tuple(EXTENSION_SUFFIXES))]
    manifest = json.loads(zipfile.ZipFile(wheel).read(f"gatewatch/rules/{MANIFEST}"))
    assert manifest["compiled"] is False
    assert manifest["reason"].startswith("CompileError")
