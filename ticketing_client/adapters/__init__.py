"""Service-desk adapters, registered by name in ADAPTERS; ``tickets.backend`` names one.

Each desk is one module ending with ``DESK = Desk(...)`` (see options.py): its
options, how they become its settings, how its adapter is built. Adding a desk
means that module and one line in ADAPTERS. A desk module is imported only
when its desk is configured: the desks built on httpx cost tens of ms each.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from gatewatch.ticketing_client.adapters.base import Adapter
from gatewatch.ticketing_client.adapters.options import (
    AdapterConfigError,
    AdapterContext,
    Desk,
    secret,
)

__all__ = [
    "ADAPTERS",
    "AdapterConfigError",
    "AdapterContext",
    "Desk",
    "build_adapter",
    "check_options",
    "desk",
    "secret",
]

ADAPTERS: dict[str, str] = {  # name -> the module declaring its DESK (".x": in this package)
    "local": ".local",
    "rt": ".rt",
    "webhook": ".webhook",
    "redmine": ".redmine",
    "jira": ".jira",
    "servicenow": ".servicenow",
    "zendesk": ".zendesk",
}


def desk(name: str) -> Desk[Any]:
    """The desk registered as ``name``, its module imported on first use."""
    module = ADAPTERS.get(name)
    if module is None:
        known = ", ".join(sorted(ADAPTERS))
        raise AdapterConfigError(f"unknown ticket backend {name!r}; choose one of {known}")
    entry = importlib.import_module(module, __name__).DESK
    if not isinstance(entry, Desk) or entry.name != name:
        raise TypeError(f"{module}.DESK is not the Desk named {name!r}")
    return entry


def check_options(name: str, options: Mapping[str, Any], ctx: AdapterContext) -> None:
    """Validate a backend's options without opening anything (config check)."""
    desk(name).check(options, ctx)


def build_adapter(name: str, options: Mapping[str, Any], ctx: AdapterContext) -> Adapter:
    return desk(name).make(options, ctx)
