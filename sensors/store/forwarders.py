"""Forward targets, registered by name in FORWARDERS; the name is the gatewatch.yaml section.

When a target is configured, SqliteStore queues every reading it makes durable
(``forward_queue``, in the same transaction) and the target's forwarder drains
that queue. There is one queue, so one target at a time.

Adding a target (e.g. a Prometheus remote-write) means one module declaring
``Target(name, parse, build)`` (target.py; import a heavy client inside
``build``, so that loading the config does not) and one line in FORWARDERS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatewatch.core.yamlsource import Section
from gatewatch.sensors.store.base import Forwarder
from gatewatch.sensors.store.influx_target import INFLUXDB
from gatewatch.sensors.store.target import SecretReader, Target

FORWARDERS: dict[str, Target[Any]] = {
    "influxdb": INFLUXDB,  # InfluxDB v2 write API (also 1.8+, 3.x, VictoriaMetrics)
}


@dataclass(frozen=True, slots=True)
class Forward:
    """The configured forward target: its name in FORWARDERS and its parsed settings."""

    name: str
    settings: Any


def parse_forward(root: Section, secret: SecretReader) -> Forward | None:
    """The target whose section the config has, or None: the store then forwards nothing."""
    present = [name for name in FORWARDERS if root.has(name)]
    for other in present[1:]:
        root.raw(other)
        root.error(
            other,
            f"{other}: only one forward target at a time (the store has one forward queue); "
            f"keep {present[0]} or {other}",
        )
    if not present:
        return None
    name = present[0]
    return Forward(name, FORWARDERS[name].parse(root.section(name), secret))


def build_forwarder(name: str, settings: Any, store_path: Path) -> Forwarder:
    """The forwarder of target ``name`` for the store at ``store_path``; not started yet."""
    target = FORWARDERS.get(name)
    if target is None:
        raise ValueError(f"unknown forward target {name!r}; known: {', '.join(FORWARDERS)}")
    return target.build(store_path, settings)
