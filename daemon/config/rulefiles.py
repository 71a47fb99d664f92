"""Reading rule files from disk (the I/O edge of the pure rules/ package)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from gatewatch.core.assets import AssetRegistry
from gatewatch.core.yamlsource import ConfigError, Problem
from gatewatch.daemon.config.assets import load_assets
from gatewatch.daemon.config.files import read_texts, rule_paths
from gatewatch.rules.language.load import load_rules
from gatewatch.rules.language.model import RuleSet


def find_assets(paths: list[Path]) -> Path | None:
    """assets.yaml next to or above the rule files (config/rules/x.yaml -> config/assets.yaml)."""
    for path in paths:
        base = path if path.is_dir() else path.parent
        for candidate in (base / "assets.yaml", base.parent / "assets.yaml"):
            if candidate.is_file():
                return candidate
    return None


def load_rule_files(paths: Iterable[Path], assets: AssetRegistry | None) -> RuleSet:
    """Read and validate every file; raise one ConfigError with all problems of all files."""
    problems: list[Problem] = []
    texts = read_texts(rule_paths(paths), problems)
    try:
        rules = load_rules(texts, assets)
    except ConfigError as exc:
        problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return rules


def load_registry(path: Path | None) -> AssetRegistry | None:
    """assets.yaml, with the state names of the mappings/ folder beside it, if any."""
    if path is None:
        return None
    from gatewatch.daemon.config.mappings import load_mapping_files, with_states

    folder = path.parent / "mappings"
    maps = load_mapping_files([folder]) if folder.is_dir() else None
    assets = load_assets(path)
    return with_states(assets, maps) if maps is not None else assets
