"""What the ``influxdb:`` forward target needs to know, read from gatewatch.yaml.

Kept apart from influx.py so that loading the configuration does not import the
InfluxDB client; its FORWARDERS entry is influx_target.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gatewatch.core.yamlsource import Section
from gatewatch.sensors.store.target import SecretReader


@dataclass(frozen=True)
class InfluxSettings:
    url: str
    org: str
    bucket: str
    token: str = field(repr=False, default="")
    batch_size: int = 5000
    flush_interval: float = 1.0
    timeout: float = 10.0


def parse_influx(s: Section, secret: SecretReader) -> InfluxSettings:
    out = InfluxSettings(
        url=s.text("url"),
        org=s.text("org", "gatewatch"),
        bucket=s.text("bucket", "gatewatch"),
        token=secret(s, "token") or "",
        batch_size=s.integer("batch_size", 5000, min=1),
        flush_interval=s.number("flush_interval_s", 1.0, min=0.05),
        timeout=s.number("timeout_s", 10.0, min=0.1),
    )
    s.check_unknown()
    return out
