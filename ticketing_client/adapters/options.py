"""What a desk declares (``Desk``) and the helpers that turn its options into settings.

Each desk module ends with ``DESK = Desk(...)``: its name, the options it
accepts under ``tickets.<name>``, how they become its settings (raising
AdapterConfigError with what to change) and how its adapter is built from
them. ADAPTERS (``__init__.py``) lists the desk modules by name.

Common options of the desks built on desk_http (Redmine, Jira, ...)::

    url: https://desk.example.org
    timeout: 10                  # seconds per request
    verify_tls: true             # default; false only for a lab desk
    ca_bundle: /etc/gatewatch/desk-ca.pem   # trust this CA (PEM) for the desk

Secrets come from ``<name>_env`` (a variable name) or ``<name>_file`` (a path),
never from the config itself.
"""

from __future__ import annotations

import difflib
import os
import sqlite3
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from gatewatch.ticketing_client.adapters.base import Adapter
from gatewatch.ticketing_client.adapters.desk_http import Auth, Connection

S = TypeVar("S")


@dataclass(frozen=True)
class AdapterContext:
    conn: sqlite3.Connection  # the state database (the local backend keeps tickets there)
    lock: threading.Lock | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    base_dir: Path = Path()


class AdapterConfigError(ValueError):
    """A problem in the adapter options; the message says what to change."""


Options = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Desk(Generic[S]):
    """One service desk as the config sees it (``tickets.backend: <name>``)."""

    name: str
    options: frozenset[str]  # the keys allowed in tickets.<name>; any other is a misspelling
    settings: Callable[[Options, AdapterContext], S]  # options -> settings, or AdapterConfigError
    build: Callable[[S, AdapterContext], Adapter]  # settings -> the adapter (opens nothing yet)
    takes_attachments: bool  # whether its create delivers the action's files (the trend plot)

    def check(self, options: Options, ctx: AdapterContext) -> S:
        """The settings from ``options``: unknown keys first, then the desk's own checks."""
        if not isinstance(options, Mapping):
            raise AdapterConfigError(f"{self.name}: the options must be a mapping (key: value)")
        check_known(options, self.name, self.options)
        return self.settings(options, ctx)

    def make(self, options: Options, ctx: AdapterContext) -> Adapter:
        return self.build(self.check(options, ctx), ctx)


def secret_names(*names: str) -> frozenset[str]:
    """A secret's option names: the inline one (refused with a hint), ``_env``, ``_file``."""
    return frozenset(f"{n}{suffix}" for n in names for suffix in ("", "_env", "_file"))


# every desk built on desk_http takes these
HTTP_COMMON = ("url", "timeout", "max_connections", "verify_tls", "ca_bundle", "auth", "user",
               "queues", "priorities")  # fmt: skip
HTTP_OPTIONS = frozenset(HTTP_COMMON) | secret_names("token", "password", "api_key")


def check_known(options: Options, desk: str, known: Collection[str]) -> None:
    """Reject a misspelt option instead of silently using a default for it."""
    for key in options:
        if key not in known:
            near = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise AdapterConfigError(f"{desk}: unknown option {key!r}{hint}")


def secret(options: Options, name: str, ctx: AdapterContext) -> str:
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


def secret_of(options: Options, name: str, ctx: AdapterContext) -> tuple[str, str]:
    """The secret and the setting it came from (``<name>_env`` or ``<name>_file``)."""
    value = secret(options, name, ctx)
    if not value:
        raise AdapterConfigError(f"{name} is empty (from {name}_env / {name}_file)")
    return value, f"{name}_env" if f"{name}_env" in options else f"{name}_file"


def need(options: Options, key: str, desk: str) -> str:
    value = options.get(key)
    if not isinstance(value, str) or not value:
        raise AdapterConfigError(f"the {desk} backend needs `{key}` (a non-empty string)")
    return value


def strings(options: Options, names: Collection[str]) -> dict[str, str]:
    """The optional text settings among ``names`` that the options set."""
    return {name: str(options[name]) for name in names if name in options}


def queues(options: Options) -> dict[str, str]:
    """``queues``: a rule's queue name -> the desk's name for it."""
    return {str(k): str(v) for k, v in (options.get("queues") or {}).items()}


def auth_from(options: Options, ctx: AdapterContext, desk: str, default: str) -> Auth:
    """``auth: basic`` (user + password/token), ``bearer`` (OAuth token) or the desk's own."""
    scheme = str(options.get("auth", default))
    if scheme == "basic":
        value, setting = secret_of(options, "password", ctx)
        return Auth("basic", value, user=need(options, "user", desk), secret_setting=setting)
    if scheme == "bearer":
        value, setting = secret_of(options, "token", ctx)
        return Auth("bearer", value, secret_setting=setting)
    raise AdapterConfigError(f"{desk}: auth must be basic or bearer, not {scheme!r}")


def connection(options: Options, ctx: AdapterContext, desk: str, auth: Auth) -> Connection:
    verify = options.get("verify_tls", True)
    if not isinstance(verify, bool):
        raise AdapterConfigError(f"{desk}: verify_tls must be true or false")
    bundle = options.get("ca_bundle")
    if bundle is not None:
        path = ctx.base_dir / str(bundle)
        if not path.is_file():
            raise AdapterConfigError(f"{desk}: ca_bundle {bundle} is not a readable file")
        bundle = str(path)
    try:
        timeout = float(options.get("timeout", 10.0))
        connections = int(options.get("max_connections", 4))
    except (TypeError, ValueError):
        raise AdapterConfigError(
            f"{desk}: timeout (seconds) and max_connections must be numbers"
        ) from None
    if connections < 1:
        raise AdapterConfigError(f"{desk}: max_connections must be at least 1")
    return Connection(need(options, "url", desk), auth, timeout, verify, bundle, connections)


def int_map(options: Options, key: str, desk: str) -> dict[int, str]:
    raw = options.get(key) or {}
    if not isinstance(raw, Mapping):
        raise AdapterConfigError(f"{desk}: `{key}` maps P1..P4 (1, 2, 3, 4) to the desk's names")
    return {int(k): str(v) for k, v in raw.items()}
