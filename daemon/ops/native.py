"""Which rule-engine modules run compiled (mypyc), and whether each matches its source.

setup.py compiles a few hot modules of gatewatch.rules and writes MANIFEST next to
them: whether it compiled, why not, the sha256 of every source it compiled and of
the core/, rules/ and anomaly/ sources those were compiled against.
Python imports ``engine.cpython-*.so`` before ``engine.py``, so a binary built from
an older source would silently run old code after an edit: ``problems`` finds that
(tests/conftest.py stops the test run on it, ``gatewatch bench rules`` refuses it).

``python -m gatewatch.daemon.ops.native`` prints the state (scripts/setup shows it).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from dataclasses import dataclass
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any

MANIFEST = "_native_build.json"
REBUILD = "rebuild with scripts/setup, or drop the binaries with GATEWATCH_MYPYC=off scripts/setup"


@dataclass(frozen=True, slots=True)
class NativeBuild:
    compiled: tuple[str, ...]  # modules whose import resolves to a compiled extension
    problems: tuple[str, ...]  # stale or partial binaries: the build must be redone
    reason: str  # why nothing is compiled, from the manifest ("" when compiled)


def is_extension(path: str | Path) -> bool:
    return str(path).endswith(tuple(EXTENSION_SUFFIXES))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"compiled": False, "reason": f"no readable {MANIFEST} (not built by setup.py)"}
    return data if isinstance(data, dict) else {"compiled": False, "reason": "bad manifest"}


def check_folder(folder: Path, package: str) -> NativeBuild:
    """Compare the binaries in folder (a package directory) with the manifest and sources."""
    manifest = read_manifest(folder)
    built: dict[str, str] = manifest.get("modules", {}) if manifest.get("compiled") else {}
    binaries = {_module(package, p): p for p in folder.iterdir() if _is_module_binary(p)}
    problems = [_stale(m, binaries[m], built.get(m)) for m in sorted(binaries)]
    problems += [
        f"{m}: listed in {MANIFEST} but no binary: {REBUILD}" for m in built if m not in binaries
    ]
    if binaries and built:
        problems += _changed_inputs(folder.parent, manifest.get("inputs", {}))
    return NativeBuild(
        compiled=tuple(sorted(binaries)),
        problems=tuple(p for p in problems if p),
        reason="" if built else str(manifest.get("reason", "not compiled")),
    )


def _module(package: str, binary: Path) -> str:
    return f"{package}.{binary.name.split('.')[0]}"


def _is_module_binary(path: Path) -> bool:
    """Extensions named for a module (engine.cpython-311-...so), not mypyc's shared library."""
    return is_extension(path) and not path.name.split(".")[0].endswith("__mypyc")


def _stale(module: str, binary: Path, built_hash: str | None) -> str:
    source = binary.with_name(binary.name.split(".")[0] + ".py")
    if built_hash is None:
        return f"{module}: {binary.name} is not in {MANIFEST}: {REBUILD}"
    if not source.exists() or sha256(source) != built_hash:
        return f"{module}: {binary.name} was built from another {source.name}: {REBUILD}"
    return ""


def _changed_inputs(root: Path, inputs: dict[str, str]) -> list[str]:
    """A module the binaries were compiled against changed: its types or Final constants
    may be compiled into them (rules/language/model.py's ALARM, a field's type)."""
    return [
        f"the compiled modules were built against another {name}: {REBUILD}"
        for name, digest in sorted(inputs.items())
        if not (root / name).exists() or sha256(root / name) != digest
    ]


def native_build(package: str = "gatewatch.rules") -> NativeBuild:
    """The state of the installed package (its folder found without importing it)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return NativeBuild((), (f"{package} is not installed",), "")
    return check_folder(Path(next(iter(spec.submodule_search_locations))), package)


def describe(build: NativeBuild) -> str:
    if build.problems:
        return "STALE compiled modules:\n  " + "\n  ".join(build.problems)
    if build.compiled:
        return "compiled with mypyc: " + ", ".join(build.compiled)
    return f"pure Python ({build.reason})"


def main() -> int:
    build = native_build()
    print(f"gatewatch rule engine: {describe(build)}")
    return 1 if build.problems else 0


if __name__ == "__main__":
    sys.exit(main())
