"""Names from payloads and topics are printable or refused (issue 18, point 5): an
escape sequence in a JSON key must not become a series, an incident key, a ticket
title and a forged row in a CLI table."""

from __future__ import annotations

import json

import pytest
from gatewatch.sensors.decode import REASONS

from tests.sensors.test_decode import NOW, decoder

ESC = "\x1b]0;pwned\x07\x1b[2K"  # set the terminal title, erase the line


@pytest.mark.parametrize(
    ("payload", "shape"),
    [
        ({"ts": NOW, f"rms{ESC}": 2.0, "peak": 6.0}, "metrics"),
        ([{"bn": "pump-1:", "n": "rms\n| 1 | forged |", "v": 2.0}], "senml"),
        ({"ts": NOW, "a\u200bb": 1.0}, "metrics"),  # zero-width space: a look-alike name
    ],
)
def test_a_name_with_a_control_character_is_dead_lettered(payload: object, shape: str) -> None:
    d = decoder().decode(b"dev/pump-1", json.dumps(payload).encode(), NOW)
    bad = [r for r in d.rejections if r.reason == "bad_name"]
    assert len(bad) == 1 and "bad_name" in REASONS
    assert "control character" in bad[0].detail and "only printable" in bad[0].detail
    for text in (bad[0].detail, bad[0].metric or ""):  # what is stored and shown: escaped
        assert text.isprintable() and "\x1b" not in text and "\n" not in text
    assert all(r.metric.isprintable() for r in d.readings)
    if shape == "metrics" and "peak" in payload:  # type: ignore[operator]
        assert [r.metric for r in d.readings] == ["peak"]  # the good keys still count


def test_a_unit_with_a_control_character_is_refused_on_the_fast_path_too() -> None:
    payload = json.dumps({"value": 21.5, "ts": NOW - 1.5, "unit": f"C{ESC}"}).encode()
    d = decoder().decode(b"building/hq/srv-1/temperature", payload, NOW)
    assert d.readings == [] and [r.reason for r in d.rejections] == ["bad_name"]
    assert "its unit" in d.rejections[0].detail


def test_a_topic_with_a_control_character_is_refused_and_printable_names_pass() -> None:
    d = decoder().decode(f"building/hq/srv{ESC}/temperature".encode(), b"21.5", NOW)
    assert [r.reason for r in d.rejections] == ["bad_topic"]
    assert "control character" in d.rejections[0].detail
    assert d.rejections[0].detail.isprintable()
    payload = '{"ts": 1732399999.0, "débit_m³": 2}'.encode()
    ok = decoder().decode("dev/pompe-été".encode(), payload, NOW)
    assert [r.metric for r in ok.readings] == ["débit_m³"] and ok.rejections == []
