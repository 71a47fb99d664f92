"""READY / WATCHDOG / STATUS / STOPPING from `gatewatch run`, seen through a
NOTIFY_SOCKET the test owns, against a real mosquitto."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gateway_process import Gateway, wait_for
from servers import Mosquitto, publish_many

pytestmark = pytest.mark.slow
WATCHDOG_USEC = 300_000  # pings every 0.15 s


class NotifySocket:
    """Receives on its own thread, so each datagram is stamped when it arrives."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.path = path
        self.messages: list[tuple[float, list[str]]] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._closed.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.messages.append((time.monotonic(), data.decode().split("\n")))

    def close(self) -> None:
        self._closed.set()
        self._thread.join()
        self.sock.close()

    def fields(self) -> list[str]:
        return [f for _, msg in list(self.messages) for f in msg]

    def wait(self, wanted: str, timeout: float) -> None:
        wait_for(lambda: wanted in self.fields(), timeout, f"{wanted} on NOTIFY_SOCKET")

    def statuses(self) -> list[str]:
        return [f.removeprefix("STATUS=") for f in self.fields() if f.startswith("STATUS=")]


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    s = NotifySocket(tmp_path / "notify.sock")
    yield s
    s.close()


def test_ready_only_once_broker_and_store_are_up(
    tmp_path: Path, mosquitto: Mosquitto, notify: NotifySocket
) -> None:
    mosquitto.stop()  # the broker is down when the daemon starts
    gw = Gateway(tmp_path, mosquitto.port)
    gw.env = {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    gw.start()
    try:
        notify.wait("WATCHDOG=1", 20)
        wait_for(
            lambda: sum(e["event"] == "mqtt_connect_failed" for e in gw.events()) >= 3,
            10,
            "three failed broker connections",
        )
        assert "READY=1" not in notify.fields()
        assert any("broker DOWN" in s for s in notify.statuses())

        mosquitto.start()
        notify.wait("READY=1", 20)
        assert (tmp_path / "state" / "readings.db").is_file()
        ready_at = next(t for t, msg in notify.messages if "READY=1" in msg)
        ready_msg = next(msg for _, msg in notify.messages if "READY=1" in msg)
        assert any(f.startswith("STATUS=broker connected") for f in ready_msg)
        assert gw.logged("mqtt_connected")
        assert gw.proc is not None
        assert f"MAINPID={gw.proc.pid}" in ready_msg

        publish_many(mosquitto.port, [("building/hq/lift-a1/speed", b"1.5")] * 3)
        wait_for(
            lambda: any("3 readings stored" in s for s in notify.statuses()),
            10,
            "STATUS with 3 readings stored",
        )
        wait_for(lambda: time.monotonic() > ready_at + 1.5, 5, "1.5 s of pings")
        pings = [t for t, msg in notify.messages if "WATCHDOG=1" in msg and t > ready_at]
        assert len(pings) >= 5
        gaps = sorted(b - a for a, b in itertools.pairwise(pings))
        # every half of WATCHDOG_USEC; never near the timeout itself
        assert 0.1 < gaps[len(gaps) // 2] < 0.3, gaps

        gw.signal(signal.SIGTERM)
        notify.wait("STOPPING=1", 10)
        assert gw.stop() == 0
        assert gw.logged("gatewatch_stopped")
    finally:
        gw.stop()


def test_abstract_notify_socket_and_no_watchdog_without_watchdog_usec(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    name = f"gatewatch-test-{os.getpid()}-{tmp_path.name}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.settimeout(20)
    gw = Gateway(tmp_path, mosquitto.port, env={"NOTIFY_SOCKET": "@" + name}).start()
    try:
        fields: list[str] = []
        while "READY=1" not in fields:
            fields += sock.recv(4096).decode().split("\n")
        gw.signal(signal.SIGTERM)
        while "STOPPING=1" not in fields:
            fields += sock.recv(4096).decode().split("\n")
        assert gw.stop() == 0
        assert "WATCHDOG=1" not in fields
    finally:
        sock.close()
        gw.stop()
