"""The asset registry as ingest and the daemon use it: the pure model lives in
gatewatch.rules.assets (the rule engine needs it and must not import sensors/);
this module adds reading the file."""

from __future__ import annotations

from pathlib import Path

from gatewatch.rules.assets import (
    KNOWN_CLASSES,
    RESPONSIBLE_KINDS,
    Asset,
    AssetLocation,
    AssetRegistry,
    MetricSpec,
    Responsible,
    parse_assets,
)
from gatewatch.rules.yamlsource import ConfigError, Location, Problem

__all__ = [
    "KNOWN_CLASSES",
    "RESPONSIBLE_KINDS",
    "Asset",
    "AssetLocation",
    "AssetRegistry",
    "MetricSpec",
    "Responsible",
    "load_assets",
    "parse_assets",
]


def load_assets(path: Path) -> AssetRegistry:
    """Read and validate an assets file; raise ConfigError listing every problem."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [Problem(Location(file, 1, 1), "assets file not found; create it or fix the path")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            [Problem(Location(file, 1, 1), f"cannot read assets file: {exc}")]
        ) from None
    return parse_assets(text, file)
