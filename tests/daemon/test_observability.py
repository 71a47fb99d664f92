"""/metrics and /healthz of `gatewatch run` while the test drives readings and faults."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from gateway_process import Gateway, wait_for
from servers import Mosquitto, publish_many

pytestmark = pytest.mark.slow
GOOD = [("building/hq/lift-a1/speed", b"1.5"), ("building/hq/lift-a1/door_close_time", b"4.2")]
BAD_JSON = ("building/hq/lift-a1/speed", b'{"value": oops}')
OUT_OF_RANGE = ("building/hq/lift-a1/speed", b"99")


@contextmanager
def write_lock_held(db: Path) -> Iterator[None]:
    """Another process holding SQLite's write lock: the store cannot take writes."""
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")


@pytest.fixture
def gateway(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[Gateway]:
    gw = Gateway(tmp_path, mosquitto.port).start()
    gw.wait_http()
    yield gw
    assert gw.stop() == 0


def healthy(gw: Gateway) -> bool:
    return gw.healthz()[0] == 200


def test_metrics_follow_readings_and_dead_letters(gateway: Gateway, mosquitto: Mosquitto) -> None:
    wait_for(lambda: healthy(gateway), 20, "/healthz 200")
    before = gateway.metrics()
    assert before["gatewatch_readings_stored_total"] == 0
    assert before["gatewatch_mqtt_connected"] == 1
    assert any(k.startswith("gatewatch_build_info{python=") for k in before)

    publish_many(mosquitto.port, [*GOOD, *GOOD, BAD_JSON, OUT_OF_RANGE])
    wait_for(
        lambda: gateway.metrics()["gatewatch_messages_stored_total"] == 6, 20, "6 messages stored"
    )
    m = gateway.metrics()
    assert m["gatewatch_mqtt_messages_received_total"] == 6
    assert m["gatewatch_readings_stored_total"] == 4
    assert m['gatewatch_dead_letters_total{reason="bad_json"}'] == 1
    assert m['gatewatch_dead_letters_total{reason="out_of_range"}'] == 1
    assert m["gatewatch_store_commits_total"] >= 1
    assert m["gatewatch_ingest_pending_messages"] == 0


def test_healthz_names_the_store_while_it_cannot_take_writes(gateway: Gateway) -> None:
    wait_for(lambda: healthy(gateway), 20, "/healthz 200")
    status, body = gateway.healthz()
    assert body == {
        "ok": True,
        "failing": [],
        "checks": {
            "broker": {"ok": True, "detail": "connected"},
            "store": {"ok": True, "detail": "writable"},
        },
    }
    with write_lock_held(gateway.workdir / "state" / "readings.db"):
        status, body = gateway.healthz()
        assert status == 503
        assert body["failing"] == ["store"]
        assert "readings.db" in body["checks"]["store"]["detail"]
        assert "locked" in body["checks"]["store"]["detail"]
        assert gateway.metrics()['gatewatch_health_check_ok{check="store"}'] == 0
    assert gateway.healthz()[0] == 200


def test_broker_stopped_turns_healthz_503_naming_the_broker(
    gateway: Gateway, mosquitto: Mosquitto
) -> None:
    wait_for(lambda: healthy(gateway), 20, "/healthz 200")
    mosquitto.stop()
    wait_for(lambda: not healthy(gateway), 20, "/healthz 503")
    status, body = gateway.healthz()
    assert status == 503
    assert body["failing"] == ["broker"]
    assert body["checks"]["broker"]["detail"].startswith("not connected for ")
    m = gateway.metrics()
    assert m["gatewatch_mqtt_connected"] == 0
    assert m["gatewatch_healthy"] == 0
    assert m['gatewatch_health_check_ok{check="broker"}'] == 0

    mosquitto.start()
    wait_for(lambda: healthy(gateway), 30, "/healthz 200 after the broker is back")
    m = gateway.metrics()
    assert m["gatewatch_mqtt_connections_total"] == 2
    assert m["gatewatch_healthy"] == 1


def test_unknown_path_is_404(gateway: Gateway) -> None:
    status, body = gateway.get("/admin")
    assert status == 404
    assert b"/metrics" in body
