"""ADAPTERS: every desk is reachable by its name; a desk registered there (one module, one
line) is what config validation and build_worker use, options and messages included."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from gatewatch.core.yamlsource import Problem, Section, parse_yaml
from gatewatch.ticketing_client.adapters import (
    ADAPTERS,
    AdapterConfigError,
    AdapterContext,
    Desk,
    build_adapter,
    desk,
)
from gatewatch.ticketing_client.adapters.local import LocalAdapter
from gatewatch.ticketing_client.config import TicketingSettings, build_worker, parse_ticketing

MINIMAL: dict[str, dict[str, Any]] = {
    "local": {},
    "rt": {"url": "http://rt.example.org", "token_env": "GW_SECRET"},
    "webhook": {"url": "http://hooks.example.org/gw", "secret_env": "GW_SECRET"},
    "redmine": {"url": "http://rm.example.org", "project": "p", "key_field_id": 7,
                "api_key_env": "GW_SECRET"},
    "jira": {"url": "http://jira.example.org", "project": "OPS", "user": "gw",
             "password_env": "GW_SECRET"},
    "servicenow": {"url": "http://sn.example.org", "user": "gw", "password_env": "GW_SECRET"},
    "zendesk": {"url": "http://zd.example.org", "email": "gw@example.org",
                "token_env": "GW_SECRET"},
}  # fmt: skip


def context(conn: sqlite3.Connection) -> AdapterContext:
    return AdapterContext(conn, lock=threading.Lock(), env={"GW_SECRET": "s3cret"})


def test_every_registered_desk_is_covered_here() -> None:
    assert sorted(MINIMAL) == sorted(ADAPTERS)


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_each_desk_is_reachable_by_its_name_and_builds_its_adapter(name: str) -> None:
    entry = desk(name)
    assert entry.name == name
    conn = sqlite3.connect(":memory:")
    adapter = build_adapter(name, MINIMAL[name], context(conn))
    assert adapter.name == name and adapter.takes_attachments is entry.takes_attachments
    asyncio.run(adapter.aclose())
    conn.close()


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_each_desk_refuses_an_option_it_does_not_know(name: str) -> None:
    conn = sqlite3.connect(":memory:")
    with pytest.raises(AdapterConfigError, match=rf"^{name}: unknown option 'colour'"):
        build_adapter(name, {**MINIMAL[name], "colour": "blue"}, context(conn))
    conn.close()


def test_a_misspelt_rt_option_is_named_with_a_suggestion() -> None:
    conn = sqlite3.connect(":memory:")
    with pytest.raises(AdapterConfigError, match=r"unknown option 'queu' \(did you mean 'queue'"):
        build_adapter("rt", {**MINIMAL["rt"], "queu": "Building"}, context(conn))
    conn.close()


# a test-only desk: its module (this one) declares DESK; one line registers it


class EchoAdapter(LocalAdapter):
    name = "echo"


def _echo_settings(options: Mapping[str, Any], ctx: AdapterContext) -> str:
    greeting = options.get("greeting", "hello")
    if not isinstance(greeting, str):
        raise AdapterConfigError("echo: greeting must be text")
    return greeting


DESK = Desk(
    "echo",
    options=frozenset({"greeting"}),
    settings=_echo_settings,
    build=lambda greeting, ctx: EchoAdapter(ctx.conn, lock=ctx.lock),
    takes_attachments=EchoAdapter.takes_attachments,
)


@pytest.fixture
def echo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ADAPTERS, "echo", __name__)


def parse(text: str) -> tuple[TicketingSettings, list[Problem]]:
    problems: list[Problem] = []
    root = Section.root(parse_yaml(text, "gatewatch.yaml"), "gatewatch.yaml", problems)
    return parse_ticketing(root.section("tickets"), Path("/etc/gatewatch"), {}), problems


@pytest.mark.usefixtures("echo")
def test_a_registered_desk_is_validated_and_built_from_the_config() -> None:
    settings, problems = parse("tickets:\n  backend: echo\n  echo:\n    greeting: hi\n")
    assert problems == [] and settings.backend == "echo"
    conn = sqlite3.connect(":memory:")
    worker = build_worker(settings, conn, threading.Lock(), env={})
    assert worker.adapter.name == "echo"
    conn.close()
    _, problems = parse("tickets:\n  backend: echo\n  echo:\n    greting: hi\n")
    assert [(p.location.line, p.message) for p in problems] == [
        (4, "tickets.echo: echo: unknown option 'greting' (did you mean 'greeting'?)")
    ]
    _, problems = parse("tickets:\n  backend: echo\n  echo:\n    greeting: [1]\n")
    assert [p.message for p in problems] == ["tickets.echo: echo: greeting must be text"]


@pytest.mark.usefixtures("echo")
def test_a_registered_desk_is_among_the_backend_choices() -> None:
    _, problems = parse("tickets:\n  backend: otrs\n")
    [problem] = problems
    assert "echo, jira, local, redmine, rt, servicenow, webhook, zendesk" in problem.message
    with pytest.raises(AdapterConfigError, match="choose one of echo, jira, local"):
        desk("otrs")


def test_a_module_whose_desk_has_another_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ADAPTERS, "parrot", __name__)
    with pytest.raises(TypeError, match="DESK is not the Desk named 'parrot'"):
        desk("parrot")
