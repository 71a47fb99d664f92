"""Reading a configuration file people wrote: an error names the file and the fix."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from gatewatch.core.yamlsource import ConfigError, Location, Problem


def read_text(path: Path, *, missing: str, unreadable: str = "cannot read") -> str:
    """The file's text; ConfigError at ``path:1:1`` with ``missing`` when it does not
    exist, ``unreadable: <reason>`` when it cannot be read or is not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
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
