"""Where and how the store forwards readings to an InfluxDB v2 write API.

Parsed from the ``influxdb:`` section of gatewatch.yaml by gatewatch.daemon.config;
kept apart from influx.py so that loading the configuration does not import the
InfluxDB client.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class InfluxSettings:
    url: str
    org: str
    bucket: str
    token: str = field(repr=False, default="")
    batch_size: int = 5000
    flush_interval: float = 1.0
    timeout: float = 10.0
