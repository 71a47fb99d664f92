"""The default MQTT client id: stable per machine, different between machines."""

from __future__ import annotations

import re

from gatewatch.daemon.config.client_id import default_client_id, machine_client_id


def test_default_client_id_is_stable_short_and_per_machine() -> None:
    a = default_client_id("gateway-hq.example.org", "0123456789abcdef0123456789abcdef")
    assert a == default_client_id("gateway-hq.example.org", "0123456789abcdef0123456789abcdef")
    b = default_client_id("gateway-hq.example.org", "fedcba9876543210fedcba9876543210")
    assert a != b  # a cloned SD card image with the same hostname
    for cid in (
        a,
        b,
        default_client_id("raspberrypi-with-a-very-long-name", ""),
        machine_client_id(),
    ):
        assert re.fullmatch(r"gw-[0-9A-Za-z]{1,12}-[0-9a-f]{6}", cid), cid
        assert len(cid) <= 23  # what every MQTT 3.1.1 broker must accept
    assert a.startswith("gw-gatewayhq-")
