"""Reading rule files from disk (the I/O edge of the pure rules/ package)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from gatewatch.core.assets import AssetRegistry
from gatewatch.core.yamlsource import ConfigError, Problem
from gatewatch.daemon.config.assets import load_assets
from gatewatch.daemon.config.files import read_text
from gatewatch.rules.language.load import load_rules
from gatewatch.rules.language.model import RuleSet


def rule_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given; a directory stands for its *.yaml / *.yml files (not tests/)."""
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
    return load_assets(path) if path is not None else None
