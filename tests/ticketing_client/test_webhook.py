"""The generic webhook against a real HTTP receiver on loopback."""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from gatewatch.core.events import EventKind
from gatewatch.ticketing_client import outbox
from gatewatch.ticketing_client.adapters import (
    AdapterConfigError,
    AdapterContext,
    build_adapter,
)
from gatewatch.ticketing_client.adapters.webhook import (
    SCHEMA,
    WebhookAdapter,
    WebhookSettings,
    signature,
    verify,
)
from harness import drain, open_desk
from ticket_events import T0, pump, server_room
from webhook_receiver import Receiver

SECRET = "s3cret-for-tests"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(SECRET).start()
    yield r
    r.stop()


def adapter(url: str, secret: str = SECRET) -> WebhookAdapter:
    return WebhookAdapter(WebhookSettings(url=url, secret=secret, timeout=5.0))


def test_lifecycle_events_are_signed_versioned_and_ordered(
    tmp_path: Path, receiver: Receiver
) -> None:
    desk = open_desk(tmp_path)
    k = server_room().incident_key
    desk.event(server_room())
    desk.event(server_room(EventKind.UPDATED, ts=T0 + 900, value=33.8))
    desk.tick(T0 + 420)
    desk.event(server_room(EventKind.RESOLVED, ts=T0 + 1200))
    drain(desk.worker(adapter(receiver.url)))
    assert [e["action"] for e in receiver.events] == ["create", "update", "escalate", "resolve"]
    create, update, escalate, resolve = receiver.events
    assert all(e["schema"] == SCHEMA == "gatewatch.ticket-event/1" for e in receiver.events)
    assert create["ticket_id"] is None and create["priority"] == 1
    assert create["priority_label"] == "P1" and "Building: HQ" in create["text"]
    assert create["event"]["asset"] == "srv-room-a" and create["event"]["value"] == 31.2
    assert update["ticket_id"] == "WH-1" and desk.ticket(k) == "WH-1"
    assert escalate["check_ack"] and escalate["level"] == 1 and escalate["queue"] == "Supervisors"
    assert resolve["close"] is True
    assert receiver.rejected == []


def test_a_resent_action_carries_the_same_delivery_id(tmp_path: Path, receiver: Receiver) -> None:
    desk = open_desk(tmp_path)
    [action_id] = desk.event(server_room())
    drain(desk.worker(adapter(receiver.url)))
    with outbox.transaction(desk.conn):  # as if the local commit was lost in a crash
        desk.conn.execute("UPDATE ticket_outbox SET state = 'pending' WHERE id = ?", (action_id,))
    drain(desk.worker(adapter(receiver.url)))
    assert len(receiver.events) == 1 and receiver.duplicates == 1
    assert desk.ticket(server_room().incident_key) == "WH-1"


def test_wrong_secret_is_parked_with_the_receivers_reason(
    tmp_path: Path, receiver: Receiver
) -> None:
    desk = open_desk(tmp_path)
    desk.event(server_room())
    worker = desk.worker(adapter(receiver.url, secret="wrong"))

    async def go() -> None:
        worker.dispatch()
        await asyncio.sleep(0)
        await asyncio.wait(list(worker._inflight.values()))
        await worker.adapter.aclose()

    asyncio.run(go())
    [row] = outbox.list_rows(desk.conn)
    assert row.state == "parked" and "401" in row.last_error and "bad signature" in row.last_error
    assert len(receiver.rejected) == 1


def test_5xx_from_the_receiver_is_retried(tmp_path: Path, receiver: Receiver) -> None:
    desk = open_desk(tmp_path)
    desk.event(server_room())
    receiver.fail_next = [500, 503]
    worker = desk.worker(adapter(receiver.url), create_settle=0.0)

    async def go() -> None:
        for _ in range(200):
            desk.clock.now += 1.0  # the injected clock moves; backoff is measured on it
            worker.dispatch()
            await asyncio.sleep(0.01)
            if outbox.counts(desk.conn) == {"done": 1}:
                break
        await worker.adapter.aclose()

    asyncio.run(go())
    assert outbox.counts(desk.conn) == {"done": 1} and len(receiver.events) == 1


def test_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    body = json.dumps({"a": 1}).encode()
    sig = signature("k", "1764100000", body)
    assert sig == "sha256=" + hmac.new(b"k", b"1764100000." + body, "sha256").hexdigest()
    assert verify("k", "1764100000", body, sig, 1764100100.0)
    assert not verify("k", "1764100000", body, sig, 1764100000.0 + 301)  # replayed later
    assert not verify("k", "1764100000", body + b" ", sig, 1764100000.0)


def test_registry_builds_adapters_by_name_with_secrets_from_env_or_file(tmp_path: Path) -> None:
    desk = open_desk(tmp_path)
    ctx = AdapterContext(desk.conn, env={"WH_SECRET": "x"}, base_dir=tmp_path)
    made = build_adapter("webhook", {"url": "http://127.0.0.1:9/x", "secret_env": "WH_SECRET"}, ctx)
    assert isinstance(made, WebhookAdapter) and made.settings.secret == "x"
    (tmp_path / "token").write_text("1-2-abc\n")
    rt = build_adapter("rt", {"url": "http://rt", "token_file": "token", "queue": "Q"}, ctx)
    assert rt.name == "rt" and rt.settings.token == "1-2-abc"  # type: ignore[attr-defined]
    assert build_adapter("local", {}, ctx).name == "local"
    with pytest.raises(AdapterConfigError, match="must not be written in the config"):
        build_adapter("webhook", {"url": "http://x", "secret": "inline"}, ctx)
    with pytest.raises(AdapterConfigError, match="unknown ticket backend 'bugzilla'"):
        build_adapter("bugzilla", {}, ctx)
    with pytest.raises(AdapterConfigError, match=r"RT_TOKEN .* is not set"):
        build_adapter("rt", {"url": "http://rt", "token_env": "RT_TOKEN"}, ctx)
    asyncio.run(made.aclose())
    asyncio.run(rt.aclose())


def test_a_predictive_create_says_the_plot_is_not_attached(
    tmp_path: Path, receiver: Receiver
) -> None:
    desk = open_desk(tmp_path)
    desk.event(pump())
    drain(desk.worker(adapter(receiver.url)))
    [create] = receiver.events
    assert create["text"].endswith(
        "trend plot not attached: webhook adapter does not take attachments"
    )
    assert "attachments" not in create  # the schema stays gatewatch.ticket-event/1
    assert receiver.rejected == []
