"""What a forward target declares: ``Target(name, parse, build)``.

``name`` is its gatewatch.yaml section (``influxdb``); ``parse`` reads that
section into frozen settings, reporting problems on the section (file:line:col);
``build`` makes the forwarder from the store's path and the settings, without
starting it. FORWARDERS (forwarders.py) lists the targets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from gatewatch.core.yamlsource import Section
from gatewatch.sensors.store.base import Forwarder

S = TypeVar("S")
SecretReader = Callable[[Section, str], str | None]  # (section, name) -> <name>_env/_file's


@dataclass(frozen=True, slots=True)
class Target(Generic[S]):
    name: str
    parse: Callable[[Section, SecretReader], S]
    build: Callable[[Path, S], Forwarder]
