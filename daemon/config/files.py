"""Reading a configuration file people wrote: an error names the file and the fix.

Every YAML file the daemon reads (gatewatch.yaml, assets, rules, silences,
rule tests) is read here, and never more than ``LIMITS.max_bytes`` of it: a
100 MB file is refused after reading 8 MiB, not loaded whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from gatewatch.core.yamlsource import LIMITS, ConfigError, Location, Problem, too_large


def read_bounded(path: Path, max_bytes: int = LIMITS.max_bytes) -> str:
    """The file's UTF-8 text; ConfigError (naming the file and the limit) when it is
    larger than ``max_bytes``. OSError and UnicodeDecodeError pass through."""
    with path.open("rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_large(str(path), len(data))
    return data.decode("utf-8")


def read_text(path: Path, *, missing: str, unreadable: str = "cannot read") -> str:
    """The file's text; ConfigError at ``path:1:1`` with ``missing`` when it does not
    exist, ``unreadable: <reason>`` when it cannot be read or is not UTF-8, and the
    limit when it is too large (:func:`read_bounded`)."""
    try:
        return read_bounded(path)
    except FileNotFoundError:
        raise ConfigError([Problem(Location(str(path), 1, 1), missing)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(Location(str(path), 1, 1), f"{unreadable}: {exc}")]) from None


def rule_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given; a directory stands for its *.yaml / *.yml files (not tests/): rule
    files, mapping files."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        else:
            out.append(path)
    return out


def read_texts(paths: Iterable[Path], problems: list[Problem]) -> list[tuple[str, str]]:
    texts = []
    for path in paths:
        try:
            texts.append((str(path), read_text(path, missing="file not found; check the path")))
        except ConfigError as exc:
            problems += exc.problems
    return texts
