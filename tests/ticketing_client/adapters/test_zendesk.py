"""Zendesk specifics against the Ticketing API v2 fake (the lifecycle is in contract/)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from desk_doubles import ZendeskDesk
from gatewatch.ticketing_client import outbox
from gatewatch.ticketing_client.actions import ActionKind, TicketAction
from gatewatch.ticketing_client.adapters import AdapterConfigError, AdapterContext, build_adapter
from gatewatch.ticketing_client.adapters.desk_http import Auth, Connection, SettingError
from gatewatch.ticketing_client.adapters.zendesk import ZendeskAdapter
from gatewatch.ticketing_client.retry import RetryPolicy
from gatewatch.ticketing_client.schema import connect_state
from gatewatch.ticketing_client.worker import Worker
from harness import open_desk
from ticket_events import server_room
from zendesk_fake import RATE_LIMITED

R = TypeVar("R")


def run(adapter: ZendeskAdapter, call: Callable[[ZendeskAdapter], Awaitable[R]]) -> R:
    async def go() -> R:
        try:
            return await call(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(go())


def create(key: str = "") -> TicketAction:
    key = key or f"zd/{uuid.uuid4().hex[:8]}"
    return TicketAction(ActionKind.CREATE, key, subject="[P2] s", text="body", priority=2)


def test_create_is_an_internal_note_with_external_id_and_group(zendesk: ZendeskDesk) -> None:
    ticket = run(zendesk.adapter(), lambda a: a.create(create("zd/one")))
    data = zendesk.fake.tickets[int(ticket)]
    assert data["external_id"] == "zd/one" and data["priority"] == "high"
    assert data["group_id"] == 360001 and data["type"] == "incident"
    assert [c["public"] for c in zendesk.fake.comments[int(ticket)]] == [False]


def test_find_follows_pages_and_skips_solved_tickets(zendesk: ZendeskDesk) -> None:
    zendesk.fake.page_size = 2
    solved = set()
    for _ in range(5):  # five solved tickets of the same incident fill pages 1-3
        ticket = run(zendesk.adapter(), lambda a: a.create(create("zd/paged")))
        zendesk.fake.tickets[int(ticket)]["status"] = "solved"
        solved.add(ticket)
    fresh = run(zendesk.adapter(), lambda a: a.create(create("zd/paged")))
    assert fresh not in solved and len(zendesk.fake.tickets) == 6
    assert run(zendesk.adapter(), lambda a: a.find("zd/paged")) == fresh
    pages = [p for m, p in zendesk.server.requests if p == "/api/v2/tickets.json"]  # type: ignore[union-attr]
    assert len(pages) >= 3 + 4  # every find walked all pages (3, then 4 with the new one)


def test_closed_ticket_refuses_the_update_with_zendesks_words(zendesk: ZendeskDesk) -> None:
    ticket = run(zendesk.adapter(), lambda a: a.create(create()))
    zendesk.fake.tickets[int(ticket)]["status"] = "closed"
    note = TicketAction(ActionKind.REOPEN, "k", text="back", priority=1)
    with pytest.raises(Exception, match="Status: closed prevents ticket update") as err:
        run(zendesk.adapter(), lambda a: a.reopen(ticket, note))
    assert err.value.reason.startswith("zendesk: PUT /api/v2/tickets/")  # type: ignore[attr-defined]


def test_no_credentials_is_the_anonymous_user_not_a_200_success(zendesk: ZendeskDesk) -> None:
    anonymous = Auth("header", "x", header="X-Nothing", secret_setting="token_file")
    adapter = ZendeskAdapter(zendesk.settings(conn=Connection(zendesk.url, anonymous)))
    with pytest.raises(SettingError, match=r"anonymous user.*fix `token_file`"):
        run(adapter, lambda a: a.find("anything"))


def test_429_waits_for_retry_after_then_creates_once(tmp_path: Path, zendesk: ZendeskDesk) -> None:
    desk, key = open_desk(tmp_path), f"zd/{uuid.uuid4().hex[:8]}"
    desk.event(server_room(key=key))
    assert zendesk.server is not None
    zendesk.server.rate_limit(1, RATE_LIMITED)
    worker = Worker(desk.conn, zendesk.adapter(), lock=desk.lock, clock=time.time,
                    retry=RetryPolicy(base=0.01, cap=0.05))  # fmt: skip
    started = time.monotonic()

    async def go() -> bool:
        try:
            return await worker.drain(20.0)
        finally:
            await worker.adapter.aclose()

    assert asyncio.run(go())
    assert time.monotonic() - started >= 0.95  # Retry-After: 1, not the 0.05 s backoff
    assert worker.stats.retried == 1 and "429" in worker.stats.last_error
    assert outbox.counts(desk.conn) == {"done": 1}
    assert [t["id"] for t in zendesk.fake.tickets.values() if t["external_id"] == key] == [1]


@pytest.fixture
def tls_zendesk(tmp_path: Path) -> Iterator[ZendeskDesk]:
    desk = ZendeskDesk(tls_dir=tmp_path / "tls")
    yield desk
    desk.stop()


def test_tls_is_verified_by_default_and_a_ca_bundle_makes_it_trusted(
    tls_zendesk: ZendeskDesk,
) -> None:
    assert tls_zendesk.url.startswith("https://")
    with pytest.raises(SettingError, match=r"not trusted; fix `ca_bundle`") as err:
        run(tls_zendesk.adapter(), lambda a: a.find("k"))
    assert "CERTIFICATE_VERIFY_FAILED" in err.value.reason
    assert tls_zendesk.server is not None and tls_zendesk.server.ca_file is not None
    settings = tls_zendesk.settings()
    trusted = Connection(
        tls_zendesk.url, settings.conn.auth, ca_bundle=str(tls_zendesk.server.ca_file)
    )
    assert run(ZendeskAdapter(tls_zendesk.settings(conn=trusted)), lambda a: a.find("k")) is None


def test_build_from_config(tmp_path: Path, zendesk: ZendeskDesk) -> None:
    (tmp_path / "zd.token").write_text("agent-token-1\n")
    ctx = AdapterContext(connect_state(tmp_path / "s.db"), base_dir=tmp_path)
    options = {"url": zendesk.url, "email": "gatewatch@example.org", "token_file": "zd.token",
               "group": "Building Services"}  # fmt: skip
    adapter = build_adapter("zendesk", options, ctx)
    assert isinstance(adapter, ZendeskAdapter)
    assert run(adapter, lambda a: a.create(create("zd/config"))) == "1"
    with pytest.raises(AdapterConfigError, match="map P1 to urgent, high, normal or low"):
        build_adapter(
            "zendesk", {**options, "priorities": {1: "P1", 2: "high", 3: "normal", 4: "low"}}, ctx
        )
    with pytest.raises(AdapterConfigError, match=r"ca_bundle nope\.pem is not a readable file"):
        build_adapter("zendesk", {**options, "ca_bundle": "nope.pem"}, ctx)
