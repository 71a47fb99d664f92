"""Jira specifics against the Cloud v3 / Data Center v2 fake (the lifecycle is in contract/)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from desk_doubles import JiraDesk
from gatewatch.ticketing_client.actions import ActionKind, TicketAction
from gatewatch.ticketing_client.adapters import AdapterConfigError, AdapterContext, build_adapter
from gatewatch.ticketing_client.adapters.desk_http import SettingError
from gatewatch.ticketing_client.adapters.jira import JiraAdapter, label_for
from gatewatch.ticketing_client.schema import connect_state

R = TypeVar("R")


def run(adapter: JiraAdapter, call: Callable[[JiraAdapter], Awaitable[R]]) -> R:
    async def go() -> R:
        try:
            return await call(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(go())


def create(key: str) -> TicketAction:
    return TicketAction(
        ActionKind.CREATE, key, subject="[P2] s", text="line 1\n\nline 3", priority=2
    )


def test_cloud_fake_rejects_plain_text_like_jira_v3(jira_cloud: JiraDesk) -> None:
    fields = {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "s",
              "description": "plain text"}  # fmt: skip
    with httpx.Client(base_url=jira_cloud.url, auth=("gatewatch@example.org", "jira-token-1")) as c:
        reply = c.post("/rest/api/3/issue", json={"fields": fields})
        assert reply.status_code == 400
        assert "Atlassian Document" in reply.json()["errors"]["description"]
        assert c.post("/rest/api/3/issue", json={"fields": {}}).json()["errors"]["summary"]
        assert c.get("/rest/api/3/issue/OPS-1").status_code == 404


@pytest.mark.parametrize("api", ["cloud", "datacenter"])
def test_search_and_comments_are_read_across_pages(api: str) -> None:
    desk = JiraDesk(api)
    try:
        desk.fake.page_size = 2
        keys = [run(desk.adapter(), lambda a, n=n: a.create(create(f"jira/{n}"))) for n in range(3)]  # type: ignore[misc]
        for key in keys:  # three open issues carry the label (made by hand, say)
            desk.fake.issues[key]["fields"]["labels"] = [label_for("gatewatch-", "jira/dup")]
        assert run(desk.adapter(), lambda a: a.find("jira/dup")) == "OPS-1"  # the oldest
        notes = [TicketAction(ActionKind.UPDATE, "jira/0", text=f"update {n}") for n in range(5)]
        for note in [*notes, notes[-1]]:  # the last one retried: its comment is on page 3
            run(desk.adapter(), lambda a, note=note: a.comment("OPS-1", note))  # type: ignore[misc]
        texts = [c["body"] for c in desk.fake.comments["OPS-1"]]
        assert len(texts) == 5
        assert run(desk.adapter(), lambda a: a.delivered("OPS-1", notes[4])) is True
        pages = [q for (_m, p), q in zip(desk.server.requests, desk.server.queries, strict=True)  # type: ignore[union-attr]
                 if p.endswith("/comment") and q.get("startAt") == ["4"]]  # fmt: skip
        assert pages
    finally:
        desk.stop()


def test_forbidden_transition_names_the_setting_and_what_jira_offers(jira_dc: JiraDesk) -> None:
    key = run(jira_dc.adapter(), lambda a: a.create(create("jira/t")))
    resolve = TicketAction(ActionKind.RESOLVE, "jira/t", text="Back in range.", close=True)
    adapter = jira_dc.adapter(resolve_transition="Close Issue")
    with pytest.raises(SettingError, match=r"no transition 'Close Issue'.*fix `resolve_transition`"
                       r".*offered now: Start Progress, Done"):  # fmt: skip
        run(adapter, lambda a: a.resolve(key, resolve))
    assert adapter.errors["resolve_transition"] == 1
    assert jira_dc.fake.issues[key]["fields"]["status"]["name"] == "To Do"
    assert jira_dc.fake.comments.get(key) is None  # the comment waits for the transition


def test_unknown_component_is_a_queues_error(jira_cloud: JiraDesk) -> None:
    key = run(jira_cloud.adapter(), lambda a: a.create(create("jira/q")))
    escalate = TicketAction(ActionKind.ESCALATE, "jira/q", text="SLA", priority=1, queue="Nowhere")
    with pytest.raises(SettingError, match=r"fix `queues`.*Component name 'Nowhere' is not valid"):
        run(jira_cloud.adapter(), lambda a: a.escalate(key, escalate))


def test_datacenter_bearer_pat_from_a_file(tmp_path: Path, jira_dc: JiraDesk) -> None:
    jira_dc.fake.tokens["pat-1"] = "gatewatch@example.org"
    (tmp_path / "pat").write_text("pat-1\n")
    ctx = AdapterContext(connect_state(tmp_path / "s.db"), base_dir=tmp_path)
    options = {"url": jira_dc.url, "api": "datacenter", "project": "OPS", "auth": "bearer",
               "token_file": "pat"}  # fmt: skip
    adapter = build_adapter("jira", options, ctx)
    assert isinstance(adapter, JiraAdapter)
    assert run(adapter, lambda a: a.create(create("jira/pat"))) == "OPS-1"
    assert jira_dc.fake.issues["OPS-1"]["fields"]["description"] == "line 1\n\nline 3"
    with pytest.raises(AdapterConfigError, match="api must be cloud or datacenter"):
        build_adapter("jira", {**options, "api": "server"}, ctx)
    with pytest.raises(AdapterConfigError, match="needs `project`"):
        build_adapter("jira", {k: v for k, v in options.items() if k != "project"}, ctx)
