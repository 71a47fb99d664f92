from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from rt_client import RTReader
from rt_server import RequestTracker


@pytest.fixture(scope="session")
def rt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RequestTracker]:
    """One real RT per test session, from the cached set-up database."""
    if not Path("/usr/share/request-tracker5/libexec/rt-server").exists():
        pytest.fail("request-tracker5 is not installed: run scripts/setup (as root)")
    rt = RequestTracker(tmp_path_factory.mktemp("rt")).prepare().start()
    reader = RTReader(rt.url, rt.tokens["gatewatch"])
    try:
        reader.wait_ready()
        yield rt
    finally:
        reader.close()
        rt.stop()
        shutil.rmtree(rt.workdir, ignore_errors=True)


@pytest.fixture
def rt(rt_server: RequestTracker) -> Iterator[RTReader]:
    """Reads RT back as the API user; ``as_tech`` acts as the human technician."""
    reader = RTReader(rt_server.url, rt_server.tokens["gatewatch"], rt_server.tokens["tech"])
    yield reader
    reader.close()
