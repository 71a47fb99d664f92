"""/metrics and /healthz of `gatewatch run` while the test drives readings and faults."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from gateway_process import Gateway, wait_for
from servers import Mosquitto, publish_many
from servers_vm import VictoriaMetrics

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
            "outbox": {"ok": True, "detail": "0 pending"},
            "events": {"ok": True, "detail": "every alert event is in the outbox"},
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


def test_forwarding_figures_follow_a_server_outage(tmp_path: Path, mosquitto: Mosquitto) -> None:
    victoria = VictoriaMetrics(tmp_path / "vm").start()
    gw = Gateway(tmp_path, mosquitto.port)
    gw.write_config(
        f"influxdb: {{url: '{victoria.url}', org: gw, bucket: gw, flush_interval_s: 0.1}}\n"
    )
    gw.start().wait_http()
    try:
        wait_for(lambda: healthy(gw), 20, "/healthz 200")
        assert gw.metrics()["gatewatch_store_forward_queued"] == 0
        publish_many(mosquitto.port, GOOD * 3)
        wait_for(lambda: gw.metrics()["gatewatch_store_forward_sent_total"] == 6, 20, "6 sent")
        m = gw.metrics()
        assert m["gatewatch_store_forward_lag_seconds"] == 0
        assert m["gatewatch_store_forward_last_success_timestamp_seconds"] > 0

        victoria.stop()
        publish_many(mosquitto.port, GOOD * 2)
        wait_for(
            lambda: gw.metrics()["gatewatch_store_forward_failures_total"] >= 1, 20, "a failure"
        )
        m = gw.metrics()
        assert m["gatewatch_store_forward_queued"] == 4
        assert m["gatewatch_store_forward_lag_seconds"] > 0
        assert m["gatewatch_store_forward_sent_total"] == 6
        assert healthy(gw)  # a forwarding outage loses nothing: the store keeps the readings

        victoria.start()
        wait_for(
            lambda: gw.metrics()["gatewatch_store_forward_queued"] == 0, 60, "the backlog sent"
        )
        assert gw.metrics()["gatewatch_store_forward_sent_total"] == 10
    finally:
        assert gw.stop() == 0
        victoria.stop()


def test_no_forwarding_figures_without_forwarding(gateway: Gateway) -> None:
    assert not any(k.startswith("gatewatch_store_forward") for k in gateway.metrics())
