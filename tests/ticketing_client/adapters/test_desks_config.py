"""The desks' options in gatewatch.yaml: checked at config load, errors at file:line:col."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from gatewatch.core.yamlsource import Problem, Section, parse_yaml
from gatewatch.ticketing_client.config import TicketingSettings, build_worker, parse_ticketing

MINIMAL = {
    "redmine": "url: https://redmine.example.org\n    project: building-services\n"
    "    key_field_id: 7\n    api_key_env: GW_SECRET",
    "jira": "url: https://example.atlassian.net\n    project: OPS\n    user: gw@example.org\n"
    "    password_env: GW_SECRET",
    "servicenow": "url: https://example.service-now.com\n    user: gatewatch\n"
    "    password_env: GW_SECRET",
    "zendesk": "url: https://example.zendesk.com\n    email: gw@example.org\n"
    "    token_env: GW_SECRET",
}


def parse(text: str, env: dict[str, str]) -> tuple[TicketingSettings, list[Problem]]:
    problems: list[Problem] = []
    root = Section.root(parse_yaml(text, "gatewatch.yaml"), "gatewatch.yaml", problems)
    return parse_ticketing(root.section("tickets"), Path("/etc/gatewatch"), env), problems


def config(desk: str, extra: str = "") -> str:
    return f"tickets:\n  backend: {desk}\n  {desk}:\n    {MINIMAL[desk]}\n{extra}"


@pytest.mark.parametrize("desk", sorted(MINIMAL))
def test_the_minimal_config_of_each_desk_is_valid(desk: str) -> None:
    settings, problems = parse(config(desk), {"GW_SECRET": "s3cret"})
    assert problems == [] and settings.backend == desk


@pytest.mark.parametrize("desk", sorted(MINIMAL))
def test_a_misspelt_option_is_reported_with_its_place_and_a_suggestion(desk: str) -> None:
    _, problems = parse(config(desk, "    timout: 5\n"), {"GW_SECRET": "s3cret"})
    [problem] = problems
    assert problem.location.line == 4, problem  # the desk's section
    assert "unknown option 'timout' (did you mean 'timeout'?)" in problem.message


@pytest.mark.parametrize("desk", sorted(MINIMAL))
def test_secrets_only_from_env_or_file(desk: str) -> None:
    _, problems = parse(config(desk), {})
    [problem] = problems
    assert "environment variable GW_SECRET" in problem.message and "is not set" in problem.message
    inline = config(desk).replace("_env: GW_SECRET", ": s3cret")
    _, problems = parse(inline, {})
    assert any("must not be written in the config" in p.message for p in problems), problems


def test_tls_settings_are_checked(tmp_path: Path) -> None:
    text = config("zendesk", "    verify_tls: 'no'\n")
    _, problems = parse(text, {"GW_SECRET": "s3cret"})
    assert any("verify_tls must be true or false" in p.message for p in problems), problems


def test_the_secret_never_shows_in_settings_reprs() -> None:
    settings, problems = parse(config("redmine"), {"GW_SECRET": "s3cretkey42"})
    assert problems == []
    conn = sqlite3.connect(":memory:")
    worker = build_worker(settings, conn, threading.Lock(), env={"GW_SECRET": "s3cretkey42"})
    text = repr(worker.adapter.settings)  # type: ignore[attr-defined]
    assert "s3cretkey42" not in text and "X-Redmine-API-Key" not in text, text
    assert "Auth(scheme='header'" in text
    asyncio.run(worker.adapter.aclose())
    conn.close()


def test_max_connections_bounds_requests_in_flight() -> None:
    _, problems = parse(config("redmine", "    max_connections: 0\n"), {"GW_SECRET": "k"})
    assert [p.message for p in problems] == [
        "tickets.redmine: redmine: max_connections must be at least 1"
    ]
    settings, problems = parse(config("redmine", "    max_connections: 1\n"), {"GW_SECRET": "k"})
    conn = sqlite3.connect(":memory:")
    worker = build_worker(settings, conn, threading.Lock(), env={"GW_SECRET": "k"})
    assert problems == [] and worker.adapter.settings.conn.max_connections == 1  # type: ignore[attr-defined]
    asyncio.run(worker.adapter.aclose())
    conn.close()
