"""SIGHUP: validate the configuration again; keep the last good one on error.

The reloader builds the whole new configuration (everything that can fail)
before anyone sees it; only a valid one is handed to the subscribers (rules
reload plugs in here). A broken file is logged with every problem as
file:line:col and counted, and the running configuration stays in force.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import structlog
from gatewatch.core.yamlsource import ConfigError
from gatewatch.daemon.config.load import Config, load_config
from gatewatch.daemon.ops.metrics import ReloadStats

log = structlog.get_logger("gatewatch.reload")

ReloadSubscriber = Callable[[Config, Config], None]  # (old, new); raise to refuse


class ConfigReloader:
    def __init__(
        self,
        path: Path,
        current: Config,
        *,
        subscribers: Sequence[ReloadSubscriber] = (),
        load: Callable[[Path], Config] = load_config,
        stats: ReloadStats | None = None,
    ) -> None:
        self.path = path
        self.current = current
        self.load = load
        self.stats = stats if stats is not None else ReloadStats()
        self.subscribers = tuple(subscribers)

    def reload(self) -> bool:
        """Load, validate and hand on the new configuration; False keeps the old one."""
        try:
            new = self.load(self.path)
            for subscriber in self.subscribers:
                subscriber(self.current, new)
        except ConfigError as exc:
            return self._failed([str(p) for p in exc.problems])
        except Exception as exc:  # a reload must never take the daemon down
            log.exception("config_reload_crashed")
            return self._failed([f"{self.path}: {exc!r}"])
        self.current = new
        self.stats.successes += 1
        self.stats.last_error = ""
        log.info(
            "config_reloaded",
            config=str(self.path),
            applied_by=len(self.subscribers),
            note="settings nobody applies live (broker, store, http) take effect on restart",
        )
        return True

    def _failed(self, problems: list[str]) -> bool:
        self.stats.failures += 1
        self.stats.last_error = problems[0] if problems else "unknown error"
        log.error(
            "config_reload_failed",
            config=str(self.path),
            problems=problems,
            note="the last good configuration stays in force",
        )
        return False
