from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from gatewatch.core.yamlsource import Problem, Section, parse_yaml
from gatewatch.ticketing_client.config import build_worker, parse_ticketing

GOOD = """\
tickets:
  backend: rt
  concurrency: 4
  retry: {base: 0.5, cap: 30}
  rt:
    url: http://127.0.0.1:8080
    token_env: RT_TOKEN
    queue: Building Services
    priorities: {1: 100, 2: 70, 3: 40, 4: 10}
"""


def parse(text: str, env: dict[str, str]) -> tuple[object, list[Problem]]:
    problems: list[Problem] = []
    root = Section.root(parse_yaml(text, "gatewatch.yaml"), "gatewatch.yaml", problems)
    settings = parse_ticketing(root.section("tickets"), Path("/etc/gatewatch"), env)
    return settings, problems


def test_valid_section_builds_a_worker_for_the_backend() -> None:
    settings, problems = parse(GOOD, {"RT_TOKEN": "1-2-abc"})
    assert problems == []
    conn = sqlite3.connect(":memory:")
    worker = build_worker(settings, conn, threading.Lock(), env={"RT_TOKEN": "1-2-abc"})  # type: ignore[arg-type]
    assert worker.adapter.name == "rt" and worker.concurrency == 4
    assert worker.retry.cap == 30 and worker.adapter.settings.priorities[2] == 70  # type: ignore[attr-defined]
    asyncio.run(worker.adapter.aclose())
    conn.close()


def test_problems_carry_file_line_column_and_say_how_to_fix() -> None:
    text = GOOD.replace("backend: rt", "backend: otrs").replace("concurrency: 4", "concurency: 4")
    _, problems = parse(text, {})
    messages = [f"{p.location.line}:{p.location.column} {p.message}" for p in problems]
    known = "must be one of jira, local, redmine, rt, servicenow, webhook, zendesk"
    assert any(m.startswith("2:12 ") and known in m for m in messages)
    assert any(m.startswith("3:3 ") and "did you mean 'concurrency'" in m for m in messages)


def test_missing_secret_and_inline_secret_are_reported() -> None:
    _, problems = parse(GOOD, {})
    assert [p.message for p in problems] == [
        "tickets.rt: environment variable RT_TOKEN (from token_env) is not set"
    ]
    assert problems[0].location.line == 6  # the rt mapping
    inline = GOOD.replace("token_env: RT_TOKEN", "token: 1-2-abc")
    _, problems = parse(inline, {})
    assert "must not be written in the config; use token_env or token_file" in problems[0].message
