"""ServiceNow specifics against the Table API fake (the lifecycle is in contract/)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from desk_doubles import ServiceNowDesk
from gatewatch.ticketing_client.actions import ActionKind, TicketAction
from gatewatch.ticketing_client.adapters import AdapterConfigError, AdapterContext, build_adapter
from gatewatch.ticketing_client.adapters.desk_http import Auth, Connection, SettingError
from gatewatch.ticketing_client.adapters.servicenow import ServiceNowAdapter
from gatewatch.ticketing_client.schema import connect_state

R = TypeVar("R")


def run(adapter: ServiceNowAdapter, call: Callable[[ServiceNowAdapter], Awaitable[R]]) -> R:
    async def go() -> R:
        try:
            return await call(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(go())


def create(key: str = "", priority: int = 2) -> TicketAction:
    key = key or f"sn/{uuid.uuid4().hex[:8]}"
    return TicketAction(ActionKind.CREATE, key, subject="[P2] s", text="body", priority=priority)


def test_priority_is_computed_from_impact_and_urgency(servicenow: ServiceNowDesk) -> None:
    got = {}
    for p in (1, 2, 3, 4):
        sys_id = run(servicenow.adapter(), lambda a, p=p: a.create(create(priority=p)))  # type: ignore[misc]
        record = servicenow.fake.incidents[sys_id]
        got[p] = (record["impact"], record["urgency"], record["priority"])
    assert got == {1: ("1", "1", "1"), 2: ("1", "2", "2"), 3: ("2", "2", "3"), 4: ("2", "3", "4")}


def test_find_follows_link_pages_and_quotes_the_key(servicenow: ServiceNowDesk) -> None:
    servicenow.fake.page_size = 2
    key = "sn/odd^key"
    upper = [run(servicenow.adapter(), lambda a: a.create(create(key.upper()))) for _ in range(3)]
    assert len(set(upper)) == 1  # the same incident: the upper-case key is one incident
    mine = run(servicenow.adapter(), lambda a: a.create(create(key)))
    assert mine not in upper and servicenow.fake.incidents[mine]["correlation_id"] == key
    for _ in range(2):  # more open incidents whose key differs only in case fill page 1
        servicenow.fake.incidents[
            run(servicenow.adapter(), lambda a: a.create(create("x")))
        ].update(correlation_id=key.upper())
    assert run(servicenow.adapter(), lambda a: a.find(key)) == mine
    assert servicenow.server is not None
    assert any(q.get("sysparm_offset") == ["2"] for q in servicenow.server.queries)  # rel="next"


def test_resolve_without_close_code_is_refused_by_the_data_policy(
    servicenow: ServiceNowDesk,
) -> None:
    sys_id = run(servicenow.adapter(), lambda a: a.create(create()))
    resolve = TicketAction(ActionKind.RESOLVE, "k", text="Back in range.", close=True)
    with pytest.raises(
        SettingError, match=r"refused to resolve.*fix `close_code`.*Close code mandatory"
    ):
        run(servicenow.adapter(close_code=""), lambda a: a.resolve(sys_id, resolve))
    assert servicenow.fake.incidents[sys_id]["state"] == "1"
    run(servicenow.adapter(), lambda a: a.resolve(sys_id, resolve))
    record = servicenow.fake.incidents[sys_id]
    assert record["state"] == "6" and record["close_notes"] == "Back in range."


def test_reopen_of_a_closed_incident_names_reopen_state(servicenow: ServiceNowDesk) -> None:
    sys_id = run(servicenow.adapter(), lambda a: a.create(create()))
    servicenow.fake.incidents[sys_id]["state"] = "7"
    reopen = TicketAction(ActionKind.REOPEN, "k", text="back", priority=1)
    adapter = servicenow.adapter()
    with pytest.raises(SettingError, match=r"fix `reopen_state`.*ACL Exception Update Failed"):
        run(adapter, lambda a: a.reopen(sys_id, reopen))
    assert adapter.errors["reopen_state"] == 1


def test_unknown_key_field_is_caught_before_creating_when_incidents_exist(
    servicenow: ServiceNowDesk,
) -> None:
    run(servicenow.adapter(), lambda a: a.create(create()))
    with pytest.raises(SettingError, match=r"'u_gw_key' cannot be queried.*X-Total-Count=1"):
        run(servicenow.adapter(key_field="u_gw_key"), lambda a: a.create(create()))
    assert len(servicenow.fake.incidents) == 1


def test_oauth_bearer_and_config(tmp_path: Path, servicenow: ServiceNowDesk) -> None:
    servicenow.fake.oauth["oauth-access-1"] = "gatewatch"
    ctx = AdapterContext(connect_state(tmp_path / "s.db"), env={"SN_TOKEN": "oauth-access-1"})
    options = {"url": servicenow.url, "auth": "bearer", "token_env": "SN_TOKEN",
               "assignment_group": "Building Services", "priorities": {1: [1, 1], 2: [1, 2],
               3: [2, 2], 4: [3, 3]}}  # fmt: skip
    adapter = build_adapter("servicenow", options, ctx)
    assert isinstance(adapter, ServiceNowAdapter)
    with pytest.raises(SettingError, match=r"gave priority 5, not 4.*fix `priorities`"):
        run(adapter, lambda a: a.create(create(priority=4)))
    with pytest.raises(AdapterConfigError, match="auth must be basic or bearer"):
        build_adapter("servicenow", {**options, "auth": "digest"}, ctx)
    wrong = Auth("bearer", "expired", secret_setting="token_env")
    bad = ServiceNowAdapter(servicenow.settings(conn=Connection(servicenow.url, wrong)))
    with pytest.raises(SettingError, match=r"credentials were refused; fix `token_env`"):
        run(bad, lambda a: a.find("k"))
