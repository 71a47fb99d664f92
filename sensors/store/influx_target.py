"""The ``influxdb:`` forward target: its settings parser and its forwarder, by name.

A module of its own so that neither influx.py (the forwarder) nor influx_settings.py
(what it needs to know) imports the other's importer: the heavy InfluxDB client is
imported only when a forwarder is built.
"""

from __future__ import annotations

from pathlib import Path

from gatewatch.sensors.store.base import Forwarder
from gatewatch.sensors.store.influx_settings import InfluxSettings, parse_influx
from gatewatch.sensors.store.target import Target


def _forwarder(store_path: Path, settings: InfluxSettings) -> Forwarder:
    from gatewatch.sensors.store.influx import InfluxForwarder

    return InfluxForwarder(store_path, settings)


INFLUXDB = Target("influxdb", parse=parse_influx, build=_forwarder)
