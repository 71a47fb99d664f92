"""Optional mypyc build of the rule engine's hot modules (the rest is in pyproject.toml).

The pure-Python modules stay the reference: the compiled ones are built from the
same files and import in their place (Python prefers engine.cpython-*.so to
engine.py). A failed compile never fails the install: setuptools goes on without
the extensions, the reason is printed on stderr and written to the manifest
(rules/_native_build.json, with the sha256 of every compiled source and of the
core/, rules/ and anomaly/ sources they were compiled against), which
gatewatch.daemon.ops.native reads: scripts/setup prints the state, the test run stops
on a binary built from an older source, and scripts/test requires the compiled
build unless GATEWATCH_MYPYC=off.

GATEWATCH_MYPYC: auto (default) compile when possible; off never (and remove old
binaries); require fail the install when the compile fails.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sys
import tomllib
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from setuptools import Distribution, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
NATIVE = ("engine", "machine", "series", "replay")  # rules/<name>.py, one group
GROUP = "gatewatch.rules._native"  # mypyc's shared library: rules/_native__mypyc.*.so
COMPILED_AGAINST = ("core", "rules", "anomaly")  # folders whose types the binaries embed
MANIFEST = "_native_build.json"  # next to the binaries, read by gatewatch.daemon.ops.native
TREE = Path("build", "mypyc-src")  # gatewatch/<pkg> -> <pkg>: mypyc names modules by path
METADATA = {"egg_info", "dist_info", "sdist"}  # commands that only describe the project
MYPY_ARGS = ["--follow-imports=silent", "--ignore-missing-imports", "--no-warn-unused-configs"]
FAILURE: list[str] = []  # why this build is pure Python
HASHES: dict[str, str] = {}  # module -> sha256 of the source mypyc compiled
INPUTS: dict[str, str] = {}  # core/, rules/, anomaly/ sources -> sha256: compiled against


def _mode() -> str:
    mode = os.environ.get("GATEWATCH_MYPYC", "auto")
    if mode not in ("auto", "off", "require"):
        sys.exit(f"GATEWATCH_MYPYC={mode!r}: use auto, off or require")
    return mode


def _symlink_tree() -> None:
    """The package-dir mapping of pyproject.toml as folders (as scripts/typecheck does)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shutil.rmtree(TREE, ignore_errors=True)
    (TREE / "gatewatch").mkdir(parents=True)
    for package, folder in config["tool"]["setuptools"]["package-dir"].items():
        (TREE / package.replace(".", "/")).symlink_to(ROOT / folder, target_is_directory=True)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _extensions() -> list[Any]:
    from mypyc.build import mypycify

    for name in NATIVE:  # hashed before compiling: an edit during the build shows as stale
        HASHES[f"gatewatch.rules.{name}"] = _sha256(ROOT / "rules" / f"{name}.py")
    for source in sorted(p for pkg in COMPILED_AGAINST for p in ROOT.glob(f"{pkg}/**/*.py")):
        INPUTS[source.relative_to(ROOT).as_posix()] = _sha256(source)
    _symlink_tree()
    os.environ["MYPYPATH"] = str(TREE)
    paths = [str(TREE / "gatewatch" / "rules" / f"{name}.py") for name in NATIVE]
    log = io.StringIO()
    try:
        with redirect_stdout(log), redirect_stderr(log):
            return list(mypycify(MYPY_ARGS + paths, target_dir="build/mypyc", group_name=GROUP))
    except SystemExit as exc:  # mypyc reports type errors and its own failures by exiting
        said = [line for line in log.getvalue().splitlines() if line.strip()][-3:]
        raise RuntimeError(f"mypyc exited {exc.code}: {' | '.join(said)}") from exc
    finally:
        sys.stderr.write(log.getvalue())


def _failed(exc: BaseException) -> None:
    if _mode() == "require":
        raise exc
    traceback.print_exception(exc)
    FAILURE.append(f"{type(exc).__name__}: {exc}")
    bar = "!" * 78
    print(f"{bar}\ngatewatch: rule engine NOT compiled: {FAILURE[-1]}\n{bar}", file=sys.stderr)


def _clean(folder: Path) -> None:
    """Every binary in rules/ is ours: none may outlive a rebuild or a fallback."""
    for old in (*folder.glob("*.so"), *folder.glob("*.pyd"), folder / MANIFEST):
        old.unlink(missing_ok=True)


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    (folder / MANIFEST).write_text(text, encoding="utf-8")


class NativeBuildExt(build_ext):
    """Builds the mypyc extensions all or nothing, then writes the manifest."""

    def finalize_options(self) -> None:
        """mypyc runs once per build, not for egg_info/dist_info (they finalize build_ext too)."""
        dist = self.distribution
        if dist.ext_modules is None and _mode() != "off" and set(dist.commands) - METADATA:
            try:
                dist.ext_modules = _extensions()
            except Exception as exc:  # a type error, a mypyc limit or crash
                _failed(exc)
                dist.ext_modules = []
        super().finalize_options()

    def run(self) -> None:
        folder = self._rules_folder()  # before run: setuptools resets inplace when it raises
        _clean(folder)
        if not self.extensions:
            reason = FAILURE[-1] if FAILURE else "GATEWATCH_MYPYC=off"
            _write_manifest(folder, {"compiled": False, "reason": reason})
            return
        try:
            super().run()
        except Exception as exc:  # no compiler, no Python.h, a C error: all or nothing
            _failed(exc)
            _clean(folder)
            _write_manifest(folder, {"compiled": False, "reason": FAILURE[-1]})
            return
        _write_manifest(folder, {"compiled": True, "modules": HASHES, "inputs": INPUTS})

    def _rules_folder(self) -> Path:
        """rules/ as imported: in the source tree (editable, inplace) or in build/lib."""
        return Path(self.get_ext_fullpath("gatewatch.rules.probe")).parent


class NativeDistribution(Distribution):
    """build_ext always runs: it builds the extensions, or removes old ones when it cannot."""

    def has_ext_modules(self) -> bool:
        return True


setup(distclass=NativeDistribution, cmdclass={"build_ext": NativeBuildExt})
