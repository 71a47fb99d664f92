"""Payload shapes, registered by name in SHAPES; the decoder recognises each message's.

A message whose first non-blank byte is ``{`` or ``[`` is JSON, decoded once;
the shapes that take its kind (``dict``: an object, ``list``: an array) are
asked in table order, and the first whose ``accepts`` says yes (or has none)
parses it. Any other payload goes the same way through the ``bytes`` shapes.

Adding a shape means one module declaring a ``Shape`` (name, example, what it
takes, ``parse`` -> raw readings, optionally ``accepts``) and one line in
SHAPES, before the shapes of its kind it is more specific than (VALUE, which
accepts objects with a ``value`` key, comes before METRICS, which takes any).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from gatewatch.sensors.payloads.base import Shape
from gatewatch.sensors.payloads.number import NUMBER
from gatewatch.sensors.payloads.objects import METRICS, VALUE
from gatewatch.sensors.payloads.senml import SENML

SHAPES: Mapping[str, Shape] = MappingProxyType(
    {
        shape.name: shape
        for shape in (
            VALUE,  # {"value": 23.4, "ts": ..., "unit": "C"}
            METRICS,  # {"ts": ..., "rms": 2.1, "peak": 6.3}
            SENML,  # [{"bn": ..., "n": "rms", "v": 2.1}, ...]  (RFC 8428)
            NUMBER,  # 23.4
        )
    }
)
