"""Shared helpers for the rule tests: build an engine from YAML text."""

from __future__ import annotations

import textwrap
from pathlib import Path

from gatewatch.core.assets import AssetRegistry
from gatewatch.core.events import AlertEvent
from gatewatch.core.reading import Reading
from gatewatch.daemon.config.assets import load_assets
from gatewatch.rules.engine import Engine
from gatewatch.rules.language.load import load_rules
from gatewatch.rules.language.model import RuleSet

CONFIG = Path(__file__).resolve().parents[2] / "config"
ASSETS = load_assets(CONFIG / "assets.yaml")
SITE = "hq"
# the shipped rules plus a composite and a site rule: every condition kind at once
EVERY_KIND = load_rules(
    [
        *((p.name, p.read_text()) for p in sorted((CONFIG / "rules").glob("*.yaml"))),
        (
            "extra.yaml",
            """
rules:
  - id: lift-any-trouble
    when: {any: [lift-door-fault, lift-door-slow], within: 3m}
    priority: P3
  - id: annex-offline
    select: {site: annex}
    when: {site_silent_for: 2m}
    priority: P3
""",
        ),
    ],
    ASSETS,
)


def ruleset(yaml_text: str, assets: AssetRegistry = ASSETS) -> RuleSet:
    return load_rules([("rules.yaml", textwrap.dedent(yaml_text))], assets)


def engine(yaml_text: str) -> Engine:
    return Engine(ruleset(yaml_text), ASSETS, default_site=SITE)


def r(asset: str, metric: str, ts: float, value: float) -> Reading:
    return Reading(SITE, asset, metric, ts, value)


def kinds(events: list[AlertEvent]) -> list[tuple[str, float]]:
    return [(str(e.kind), e.ts) for e in events]
