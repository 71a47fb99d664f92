"""InfluxDB line protocol for gatewatch series.

Layout: one measurement per metric, tags ``site``, ``asset`` and ``unit``
(omitted when the metric has none), one float field ``value``, timestamps in
milliseconds::

    temperature,asset=srv-1,site=hq,unit=C value=21.5 1764000000123

Why: a metric is one physical quantity in one unit, so putting it in the
measurement keeps every series of a measurement comparable. "All server-room
temperatures of site hq" is one measurement filtered by tags (Flux
``r._measurement == "temperature" and r.site == "hq"``, InfluxQL
``SELECT value FROM temperature WHERE site = 'hq' GROUP BY asset``), and
dashboards group by ``asset`` without a pivot. Tags are the low-cardinality
identity of a series (site, asset, unit); the reading itself is the field.
VictoriaMetrics names the series ``<measurement>_<field>``, so the same lines
become ``temperature_value{site="hq",asset="srv-1",unit="C"}`` there.

The series part of a line (measurement and tags) is built once per series by
influxdb-client's own ``Point`` encoder, so escaping is exactly the library's;
only the value and the timestamp are formatted per reading.
"""

from __future__ import annotations

import math

from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

FIELD = "value"
_PROBE_SUFFIX = f" {FIELD}=0 0"


class UnsendableError(ValueError):
    """A series or value that line protocol cannot carry; the reading is parked."""


def series_prefix(site: str, asset: str, metric: str, unit: str | None) -> str:
    """``measurement,tag=value,...`` for one series, escaped by influxdb-client."""
    if not metric or metric.startswith("#"):
        raise UnsendableError(f"metric {metric!r} cannot be a measurement name")
    point = Point(metric)  # type: ignore[no-untyped-call]
    point.tag("site", site).tag("asset", asset)  # type: ignore[no-untyped-call]
    if unit:
        point.tag("unit", unit)  # type: ignore[no-untyped-call]
    point.field(FIELD, 0.0).time(0, WritePrecision.MS)  # type: ignore[no-untyped-call]
    encoded = str(point.to_line_protocol())  # type: ignore[no-untyped-call]
    if not encoded.endswith(_PROBE_SUFFIX):  # pragma: no cover - library contract changed
        raise UnsendableError(f"unexpected line protocol from influxdb-client: {encoded!r}")
    return encoded[: -len(_PROBE_SUFFIX)]


def format_value(value: float) -> str:
    """A float as influxdb-client writes it: shortest repr, without a trailing ``.0``."""
    if not math.isfinite(value):
        raise UnsendableError(f"{value} cannot be written as a line protocol float")
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def line(prefix: str, ts_ms: int, value: float) -> str:
    return f"{prefix} {FIELD}={format_value(value)} {ts_ms}"
