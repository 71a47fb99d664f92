"""Service-desk adapters, registered by name; config refers to them by that name.

Adding a desk means one module and one line in ADAPTERS.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from gatewatch.ticketing_client.adapters import desks
from gatewatch.ticketing_client.adapters.base import Adapter
from gatewatch.ticketing_client.adapters.local import LocalAdapter
from gatewatch.ticketing_client.adapters.rt import RequestTrackerAdapter, RTSettings
from gatewatch.ticketing_client.adapters.webhook import WebhookAdapter, WebhookSettings


@dataclass(frozen=True)
class AdapterContext:
    conn: sqlite3.Connection  # the state database (the local backend keeps tickets there)
    lock: threading.Lock | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    base_dir: Path = Path()


class AdapterConfigError(ValueError):
    """A problem in the adapter options; the message says what to change."""


def secret(options: Mapping[str, Any], name: str, ctx: AdapterContext) -> str:
    """A secret from ``<name>_env`` or ``<name>_file``; never written inline."""
    if name in options:
        raise AdapterConfigError(
            f"{name} must not be written in the config; use {name}_env or {name}_file"
        )
    if (var := options.get(f"{name}_env")) is not None:
        if var not in ctx.env:
            raise AdapterConfigError(f"environment variable {var} (from {name}_env) is not set")
        return str(ctx.env[var]).strip()
    if (path := options.get(f"{name}_file")) is not None:
        try:
            return (ctx.base_dir / str(path)).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise AdapterConfigError(f"cannot read {name}_file {path}: {exc.strerror}") from None
    raise AdapterConfigError(f"set {name}_env (a variable name) or {name}_file (a path)")


def _need(options: Mapping[str, Any], key: str, backend: str) -> str:
    value = options.get(key)
    if not isinstance(value, str) or not value:
        raise AdapterConfigError(f"the {backend} backend needs `{key}` (a non-empty string)")
    return value


def _rt_settings(options: Mapping[str, Any], ctx: AdapterContext) -> RTSettings:
    priorities = options.get("priorities")
    extra = {}
    if priorities is not None:
        extra["priorities"] = {int(k): int(v) for k, v in priorities.items()}
    try:
        settings = RTSettings(
            url=_need(options, "url", "rt"),
            token=secret(options, "token", ctx),
            token_setting="token_env" if "token_env" in options else "token_file",
            queue=str(options.get("queue", "General")),
            key_field=str(options.get("key_field", "IncidentKey")),
            timeout=float(options.get("timeout", 10.0)),
            max_connections=int(options.get("max_connections", 4)),
            **extra,
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise AdapterConfigError(str(exc)) from None
    return settings


def _webhook_settings(options: Mapping[str, Any], ctx: AdapterContext) -> WebhookSettings:
    try:
        timeout = float(options.get("timeout", 10.0))
    except (TypeError, ValueError):
        raise AdapterConfigError("the webhook timeout must be a number of seconds") from None
    return WebhookSettings(
        url=_need(options, "url", "webhook"), secret=secret(options, "secret", ctx), timeout=timeout
    )


class Backend(NamedTuple):
    check: Callable[[Mapping[str, Any], AdapterContext], object]  # options -> settings, or raise
    make: Callable[[Mapping[str, Any], AdapterContext], Adapter]


ADAPTERS: dict[str, Backend] = {
    "rt": Backend(_rt_settings, lambda o, c: RequestTrackerAdapter(_rt_settings(o, c))),
    "webhook": Backend(_webhook_settings, lambda o, c: WebhookAdapter(_webhook_settings(o, c))),
    "local": Backend(lambda o, c: None, lambda o, c: LocalAdapter(c.conn, lock=c.lock)),
    "jira": Backend(desks.jira_settings, desks.jira),
    "redmine": Backend(desks.redmine_settings, desks.redmine),
    "servicenow": Backend(desks.servicenow_settings, desks.servicenow),
    "zendesk": Backend(desks.zendesk_settings, desks.zendesk),
}


def _backend(name: str) -> Backend:
    backend = ADAPTERS.get(name)
    if backend is None:
        known = ", ".join(sorted(ADAPTERS))
        raise AdapterConfigError(f"unknown ticket backend {name!r}; choose one of {known}")
    return backend


def check_options(name: str, options: Mapping[str, Any], ctx: AdapterContext) -> None:
    """Validate a backend's options without opening anything (config check)."""
    _backend(name).check(options, ctx)


def build_adapter(name: str, options: Mapping[str, Any], ctx: AdapterContext) -> Adapter:
    return _backend(name).make(options, ctx)
