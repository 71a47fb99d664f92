"""Session-wide desks shared by the contract suite and the per-adapter tests.

Both conftests import these fixtures; the server behind them is started once per
test session (a module-level singleton) and stopped at the session's end.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from redmine_client import RedmineReader
from redmine_server import REDMINE, Redmine

_redmine: Redmine | None = None


@pytest.fixture(scope="session")
def redmine_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redmine]:
    """One real Redmine per test session, from the cached set-up database."""
    global _redmine  # noqa: PLW0603 - one server for every conftest that imports this
    if not (REDMINE / "bin/rails").exists():
        pytest.fail("redmine is not installed: run scripts/setup (as root)")
    if _redmine is None:
        _redmine = Redmine(tmp_path_factory.mktemp("redmine")).prepare().start()
        reader = RedmineReader(_redmine)
        try:
            reader.wait_ready()
        finally:
            reader.close()
    try:
        yield _redmine
    finally:
        server, _redmine = _redmine, None
        if server is not None:
            server.stop()
            shutil.rmtree(server.workdir, ignore_errors=True)


@pytest.fixture
def redmine(redmine_server: Redmine) -> Iterator[RedmineReader]:
    reader = RedmineReader(redmine_server)
    yield reader
    reader.close()


__all__ = ["redmine", "redmine_server"]
