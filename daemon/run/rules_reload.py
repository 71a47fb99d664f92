"""Hot reload of rule files: parse and validate everything first, then swap; keep the last good.

The daemon calls ``reload()`` on SIGHUP and ``poll()`` from a timer (file
change). A failed reload leaves the engine running the previous rules and
is reported (log + counter), never raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from gatewatch.core.assets import AssetRegistry
from gatewatch.core.yamlsource import ConfigError, Problem
from gatewatch.daemon.config.files import rule_paths
from gatewatch.daemon.config.rulefiles import load_rule_files
from gatewatch.rules.engine import Engine

log = structlog.get_logger("gatewatch.rules")
Fingerprint = tuple[tuple[str, int, int], ...]


@dataclass
class ReloadResult:
    ok: bool
    changed: bool
    rules: int
    problems: list[Problem] = field(default_factory=list)


def fingerprint(paths: Sequence[Path]) -> Fingerprint:
    """(path, mtime_ns, size) of every rule file: a change means reload."""
    out = []
    for path in rule_paths(paths):
        try:
            st = path.stat()
            out.append((str(path), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(path), -1, -1))
    return tuple(out)


class RuleReloader:
    def __init__(self, engine: Engine, paths: Sequence[Path], assets: AssetRegistry) -> None:
        self.engine, self.paths, self.assets = engine, list(paths), assets
        self.seen = fingerprint(self.paths)
        self.reloads = 0
        self.failures = 0
        self.last_problems: list[Problem] = []

    def reload(self) -> ReloadResult:
        """Build the new rule set completely; swap only if every file is valid."""
        self.seen = fingerprint(self.paths)
        try:
            rules = load_rule_files(self.paths, self.assets)
        except ConfigError as exc:
            self.failures += 1
            self.last_problems = exc.problems
            for problem in exc.problems:
                log.error("rules_reload_failed", problem=str(problem))
            log.warning("rules_kept", rules=len(self.engine.rules.rules))
            return ReloadResult(False, True, len(self.engine.rules.rules), exc.problems)
        self.engine.replace_rules(rules)
        self.reloads += 1
        self.last_problems = []
        log.info("rules_reloaded", rules=len(rules.rules), files=len(rules.sources))
        return ReloadResult(True, True, len(rules.rules))

    def poll(self) -> ReloadResult | None:
        """Reload if a rule file changed since the last look (None: nothing changed)."""
        if fingerprint(self.paths) == self.seen:
            return None
        return self.reload()
