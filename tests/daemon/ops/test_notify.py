"""daemon/ops/notify.py against real AF_UNIX datagram sockets the test owns."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gatewatch.daemon.ops.notify import Notifier, notify_address, notify_loop, watchdog_interval


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[socket.socket]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(tmp_path / "notify.sock"))
    s.settimeout(2)
    yield s
    s.close()


def received(s: socket.socket) -> list[str]:
    return s.recv(4096).decode().split("\n")


def test_address_path_abstract_and_unset() -> None:
    assert notify_address({"NOTIFY_SOCKET": "/run/systemd/notify"}) == "/run/systemd/notify"
    assert notify_address({"NOTIFY_SOCKET": "@gw/notify"}) == b"\0gw/notify"
    assert notify_address({}) is None
    assert notify_address({"NOTIFY_SOCKET": "relative"}) is None


def test_watchdog_interval_is_half_of_watchdog_usec() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}, 42) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"}, 42) == 15.0


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"WATCHDOG_USEC": "0"},
        {"WATCHDOG_USEC": "x"},
        {"WATCHDOG_USEC": "5", "WATCHDOG_PID": "7"},
    ],
)
def test_watchdog_off(env: dict[str, str]) -> None:
    assert watchdog_interval(env, 42) is None


def test_ready_status_watchdog_stopping(listener: socket.socket) -> None:
    n = Notifier.from_env({"NOTIFY_SOCKET": listener.getsockname()})
    assert n.ready("broker connected")
    assert received(listener) == ["READY=1", "STATUS=broker connected", f"MAINPID={os.getpid()}"]
    assert n.watchdog()
    assert received(listener) == ["WATCHDOG=1"]
    assert n.status("broker connected") is False  # unchanged: not sent again
    assert n.status("broker DOWN")
    assert received(listener) == ["STATUS=broker DOWN"]
    assert n.stopping("draining")
    assert received(listener) == ["STOPPING=1", "STATUS=draining"]
    assert n.sent == 4


def test_abstract_namespace_socket() -> None:
    name = f"gatewatch-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind(b"\0" + name.encode())
        s.settimeout(2)
        assert Notifier.from_env({"NOTIFY_SOCKET": "@" + name}).watchdog()
        assert received(s) == ["WATCHDOG=1"]


def test_without_systemd_nothing_is_sent() -> None:
    n = Notifier.from_env({})
    assert not n.enabled
    assert n.ready("x") is False
    assert n.sent == n.failures == 0


def test_a_vanished_socket_is_counted_not_raised(tmp_path: Path) -> None:
    n = Notifier(str(tmp_path / "gone.sock"))
    assert n.watchdog() is False
    assert n.watchdog() is False
    assert n.failures == 2


def test_notify_loop_pings_and_updates_status(listener: socket.socket) -> None:
    n = Notifier(listener.getsockname())
    lines = iter(["a", "a", "b"])

    async def run() -> None:
        task = asyncio.create_task(notify_loop(n, 0.001, lambda: next(lines), watchdog=True))
        while n.sent < 5:
            await asyncio.sleep(0.001)
        task.cancel()

    asyncio.run(run())
    got = [received(listener) for _ in range(5)]
    assert got == [["WATCHDOG=1"], ["STATUS=a"], ["WATCHDOG=1"], ["WATCHDOG=1"], ["STATUS=b"]]


def test_a_wedged_event_loop_stops_the_pings(listener: socket.socket) -> None:
    stamps: list[float] = []

    class Stamping(Notifier):
        def watchdog(self) -> bool:
            stamps.append(time.monotonic())
            return super().watchdog()

    async def run() -> None:
        task = asyncio.create_task(
            notify_loop(Stamping(listener.getsockname()), 0.01, lambda: "s", watchdog=True)
        )
        await asyncio.sleep(0.1)
        time.sleep(0.5)  # the wedge: a blocking call on the event loop
        await asyncio.sleep(0.1)
        task.cancel()

    asyncio.run(run())
    gaps = sorted(b - a for a, b in itertools.pairwise(stamps))
    assert gaps[-1] >= 0.5  # no ping while the loop was wedged: systemd would restart us
    assert gaps[-2] < 0.1


def test_a_full_receiver_does_not_block_the_sender(listener: socket.socket) -> None:
    n = Notifier(listener.getsockname())
    for _ in range(200):  # nobody reads: the datagram queue fills up (Linux: 10 or so)
        n.watchdog()
    assert n.sent >= 1
    assert n.failures >= 1
    assert n.sent + n.failures == 200
