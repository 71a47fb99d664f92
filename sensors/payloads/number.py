"""A plain number, ``23.4``: one reading of the topic's {metric} at receive time."""

from __future__ import annotations

from gatewatch.sensors.payloads.base import Raw, RejectError, Shape, Topic, number


def _plain(payload: bytes, topic: Topic, now: float) -> list[Raw]:
    metric = topic.fields.metric
    if metric is None:
        raise RejectError("no_metric", "a plain number needs a {metric} segment in the topic")
    return [(metric, now, number(payload), None)]


NUMBER = Shape("number", b"23.4", takes=bytes, parse=_plain)
