from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from servers import Mosquitto


def pytest_sessionstart(session: pytest.Session) -> None:
    """A compiled rule module built from an older source would be tested instead of the
    source: stop before any test runs (daemon/ops/native.py)."""
    from gatewatch.daemon.ops.native import describe, native_build

    build = native_build()
    if build.problems:
        pytest.exit(f"gatewatch rule engine: {describe(build)}", returncode=1)


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path / "broker")
    broker.workdir.mkdir()
    broker.start()
    yield broker
    broker.stop()
