"""The ``tickets:`` section of gatewatch.yaml, checked with file:line:col errors.

tickets:
  backend: rt                  # a name in adapters.ADAPTERS: local, rt, webhook, redmine, ...
  concurrency: 8               # incidents delivered in parallel
  retry: {base: 1, cap: 60}    # seconds: exponential backoff with jitter
  sla_check_interval: 5        # seconds between SLA escalation scans
  ack_poll_interval: 60        # seconds between asking the desk who took open tickets
  stuck_after: 900             # seconds: /healthz fails when an action waits longer
  rt:
    url: https://rt.example.org
    token_env: GATEWATCH_RT_TOKEN      # or token_file: /etc/gatewatch/rt-token
    queue: Building Services
    key_field: IncidentKey
    priorities: {1: 100, 2: 75, 3: 50, 4: 25}
    timeout: 10
  webhook:
    url: https://desk.example.org/hooks/gatewatch
    secret_file: /etc/gatewatch/webhook-secret
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatewatch.core.yamlsource import Section
from gatewatch.ticketing_client.adapters import (
    ADAPTERS,
    AdapterConfigError,
    AdapterContext,
    build_adapter,
    check_options,
)
from gatewatch.ticketing_client.adapters.base import Adapter
from gatewatch.ticketing_client.outbox import Ack
from gatewatch.ticketing_client.retry import RetryPolicy
from gatewatch.ticketing_client.worker import Worker


@dataclass(frozen=True)
class TicketingSettings:
    backend: str = "local"
    options: Mapping[str, Any] = field(default_factory=dict)
    concurrency: int = 8
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sla_check_interval: float = 5.0
    ack_poll_interval: float = 60.0
    stuck_after: float = 900.0
    base_dir: Path = Path()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def parse_ticketing(
    s: Section, base_dir: Path, env: Mapping[str, str] | None = None
) -> TicketingSettings:
    """Read the section; problems go to ``s.problems`` (file:line:col), defaults are kept."""
    backend = s.text("backend", "local", choices=tuple(sorted(ADAPTERS)))
    retry = s.section("retry")
    settings = TicketingSettings(
        backend=backend or "local",
        options=_plain(s.raw(backend, {}) or {}) if backend else {},
        concurrency=s.integer("concurrency", 8, min=1),
        retry=RetryPolicy(
            base=retry.number("base", 1.0, min=0.01), cap=retry.number("cap", 60.0, min=1)
        ),
        sla_check_interval=s.number("sla_check_interval", 5.0, min=0.1),
        ack_poll_interval=s.number("ack_poll_interval", 60.0, min=0.1),
        stuck_after=s.number("stuck_after", 900.0, min=1),
        base_dir=base_dir,
    )
    retry.check_unknown()
    s.check_unknown(
        (
            "backend",
            "concurrency",
            "retry",
            "sla_check_interval",
            "ack_poll_interval",
            "stuck_after",
            *ADAPTERS,
        )
    )
    if backend:
        _check_backend(s, settings, env)
    return settings


def _check_backend(s: Section, settings: TicketingSettings, env: Mapping[str, str] | None) -> None:
    conn = sqlite3.connect(":memory:")
    try:
        ctx = AdapterContext(
            conn, env=dict(os.environ if env is None else env), base_dir=settings.base_dir
        )
        check_options(settings.backend, settings.options, ctx)
    except AdapterConfigError as exc:
        where = settings.backend if s.has(settings.backend) else "backend"
        s.error(where, f"tickets.{settings.backend}: {exc}")
    finally:
        conn.close()


def build_worker(
    settings: TicketingSettings,
    conn: sqlite3.Connection,
    lock: threading.Lock,
    env: Mapping[str, str] | None = None,
    *,
    ack_observers: Sequence[Callable[[Ack], None]] = (),
) -> Worker:
    """The worker for the configured backend, sharing the process's state connection."""
    ctx = AdapterContext(
        conn, lock=lock, env=dict(os.environ if env is None else env), base_dir=settings.base_dir
    )
    adapter: Adapter = build_adapter(settings.backend, settings.options, ctx)
    return Worker(
        conn,
        adapter,
        lock=lock,
        concurrency=settings.concurrency,
        retry=settings.retry,
        ack_observers=ack_observers,
    )
