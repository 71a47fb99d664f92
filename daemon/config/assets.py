"""Reading assets.yaml from disk (the I/O edge of the pure gatewatch.core.assets)."""

from __future__ import annotations

from pathlib import Path

from gatewatch.core.assets import AssetRegistry, parse_assets
from gatewatch.daemon.config.files import read_text


def load_assets(path: Path) -> AssetRegistry:
    """Read and validate an assets file; raise ConfigError listing every problem."""
    text = read_text(
        path,
        missing="assets file not found; create it or fix the path",
        unreadable="cannot read assets file",
    )
    return parse_assets(text, str(path))
