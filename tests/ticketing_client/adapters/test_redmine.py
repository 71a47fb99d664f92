"""Redmine specifics against a real Redmine 5 on loopback (the lifecycle is in contract/).

Redmine answers 2xx to many refusals; these tests make it refuse and check the
adapter notices, names the setting, and does not post anything twice.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from gatewatch.ticketing_client.actions import ActionKind, TicketAction
from gatewatch.ticketing_client.adapters import AdapterConfigError, AdapterContext, build_adapter
from gatewatch.ticketing_client.adapters.desk_http import SettingError
from gatewatch.ticketing_client.adapters.redmine import RedmineAdapter
from gatewatch.ticketing_client.schema import connect_state
from redmine_client import RedmineReader

pytestmark = pytest.mark.slow
R = TypeVar("R")


def run(adapter: RedmineAdapter, call: Callable[[RedmineAdapter], Awaitable[R]]) -> R:
    async def go() -> R:
        try:
            return await call(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(go())


def action(kind: ActionKind, key: str = "", **kw: object) -> TicketAction:
    key = key or f"redmine/{uuid.uuid4().hex[:8]}"
    base = {"subject": "[P3] test", "text": f"{kind} text", "priority": 3}
    return TicketAction(kind, key, **{**base, **kw})  # type: ignore[arg-type]


def test_reopen_of_an_issue_closed_by_hand_is_refused_by_the_workflow(
    redmine: RedmineReader,
) -> None:
    """Developers cannot leave Closed: Redmine answers 204 and keeps the status."""
    ticket = run(redmine.adapter(), lambda a: a.create(action(ActionKind.CREATE)))
    redmine.close_as_admin(ticket)
    adapter = redmine.adapter()
    with pytest.raises(SettingError) as err:
        run(adapter, lambda a: a.reopen(ticket, action(ActionKind.REOPEN, text="back")))
    reason = err.value.reason
    assert reason.startswith("redmine: issue #") and "`reopen_status`" in reason, reason
    assert "from 'Closed'" in reason and "204" in reason
    assert adapter.errors["reopen_status"] == 1
    assert redmine.issue(ticket)["status"]["name"] == "Closed"
    assert "back" not in redmine.texts(ticket)  # the note waits for the state change


def test_escalation_to_an_unmapped_queue_names_the_queues_setting(redmine: RedmineReader) -> None:
    ticket = run(redmine.adapter(), lambda a: a.create(action(ActionKind.CREATE)))
    with pytest.raises(SettingError, match=r"project 'Nowhere' does not exist.*fix `queues`"):
        run(
            redmine.adapter(),
            lambda a: a.escalate(ticket, action(ActionKind.ESCALATE, queue="Nowhere")),
        )
    assert redmine.issue(ticket)["project"]["name"] == "Building Services"


def test_a_retried_note_is_posted_once(redmine: RedmineReader) -> None:
    ticket = run(redmine.adapter(), lambda a: a.create(action(ActionKind.CREATE)))
    note = action(ActionKind.UPDATE, text="Still firing: 31 C.")

    async def twice(a: RedmineAdapter) -> None:
        await a.comment(ticket, note)
        await a.comment(ticket, note)  # the worker retrying after a lost answer

    run(redmine.adapter(), twice)
    assert redmine.texts(ticket)[1:] == ["Still firing: 31 C."]


def test_unknown_priority_name_is_refused_before_anything_is_created(
    redmine: RedmineReader,
) -> None:
    adapter = redmine.adapter(priorities={1: "Blocker", 2: "Urgent", 3: "High", 4: "Normal"})
    create = action(ActionKind.CREATE)
    with pytest.raises(SettingError, match=r"no 'Blocker'.*fix `priorities`.*Immediate"):
        run(adapter, lambda a: a.create(create))
    assert redmine.issues_for(create.incident_key) == []


def test_dropped_key_filter_is_caught_before_creating(redmine: RedmineReader) -> None:
    """With issues in Redmine, a search on an unknown custom field returns them all."""
    run(redmine.adapter(), lambda a: a.create(action(ActionKind.CREATE)))  # at least one issue
    create = action(ActionKind.CREATE)
    with pytest.raises(SettingError, match=r"custom field 4242 cannot be searched.*total_count="):
        run(redmine.adapter(key_field_id=4242), lambda a: a.create(create))
    assert redmine.issues_for(create.incident_key) == []


def test_find_ignores_issues_with_other_keys_and_resolved_ones(redmine: RedmineReader) -> None:
    key = f"redmine/{uuid.uuid4().hex[:8]}"
    first = run(redmine.adapter(), lambda a: a.create(action(ActionKind.CREATE, key)))
    run(redmine.adapter(), lambda a: a.resolve(first, action(ActionKind.RESOLVE, key, close=True)))
    assert run(redmine.adapter(), lambda a: a.find(key)) is None
    assert run(redmine.adapter(), lambda a: a.find(key.upper())) is None  # case-sensitive
    second = run(redmine.adapter(), lambda a: a.create(action(ActionKind.CREATE, key)))
    assert second != first and redmine.issues_for(key) == [first, second]


def test_build_from_config_reads_the_key_from_env_only(
    tmp_path: Path, redmine: RedmineReader
) -> None:
    ctx = AdapterContext(
        connect_state(tmp_path / "s.db"), env={"RM_KEY": redmine.server.key("gatewatch")}
    )
    options = {
        "url": redmine.server.url,
        "project": "building-services",
        "key_field_id": redmine.key_field_id,
        "api_key_env": "RM_KEY",
    }
    adapter = build_adapter("redmine", options, ctx)
    assert isinstance(adapter, RedmineAdapter)
    assert run(adapter, lambda a: a.find("nothing-has-this-key")) is None
    with pytest.raises(AdapterConfigError, match="must not be written in the config"):
        build_adapter("redmine", {**options, "api_key": "inline"}, ctx)
    with pytest.raises(AdapterConfigError, match="needs `key_field_id`"):
        build_adapter("redmine", {k: v for k, v in options.items() if k != "key_field_id"}, ctx)
    with pytest.raises(AdapterConfigError, match="RM_MISSING"):
        build_adapter("redmine", {**options, "api_key_env": "RM_MISSING"}, ctx)
