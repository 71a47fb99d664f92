"""Reading assets.yaml from disk (the I/O edge of the pure gatewatch.core.assets)."""

from __future__ import annotations

from pathlib import Path

from gatewatch.core.assets import AssetRegistry, parse_assets
from gatewatch.core.yamlsource import ConfigError, Location, Problem


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
