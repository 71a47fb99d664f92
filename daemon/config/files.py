"""Reading a configuration file people wrote: an error names the file and the fix."""

from __future__ import annotations

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
