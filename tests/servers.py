"""Real servers for integration tests, started on free loopback ports."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

from gatewatch.daemon.demo.broker import LocalMosquitto, free_port

__all__ = [
    "Mosquitto",
    "cached_build",
    "free_port",
    "publish_many",
    "serve_until_interrupted",
    "wait_port",
]


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def cached_build(cache: Path, recipe: str, marker: str, build: Callable[[Path], None]) -> Path:
    """A directory built once per recipe (a server's set-up database) and shared by test
    processes: built in a private temp dir, checked for ``marker``, renamed into place."""
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:16]
    cached = cache / digest
    if (cached / marker).exists():
        return cached
    building = cache / f"{digest}.{os.getpid()}.tmp"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    build(building)
    if not (building / marker).exists():
        raise RuntimeError(f"setting up {building} did not write {marker}")
    try:
        building.rename(cached)
    except OSError:
        shutil.rmtree(building, ignore_errors=True)  # another process won the race
    return cached


def serve_until_interrupted(stop: Callable[[], None]) -> None:
    """For a server module run by hand: wait for Ctrl-C, then stop the server."""
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        stop()


class Mosquitto(LocalMosquitto):
    """A mosquitto broker in a temp dir; restartable with its persistence."""


def publish_many(
    port: int,
    messages: list[tuple[str, bytes]],
    *,
    qos: int = 1,
    client_id: str = "test-publisher",
    timeout: float = 120.0,
    username: str | None = None,
    password: str | None = None,
) -> int:
    """Publish and wait for every PUBACK; reconnect and resend on broker loss.

    Returns how many publishes were attempted (resends included).
    """
    import paho.mqtt.client as mqtt

    def connect() -> mqtt.Client:
        deadline = time.monotonic() + timeout
        while True:
            c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
            c.max_inflight_messages_set(500)
            c.max_queued_messages_set(0)
            if username is not None:
                c.username_pw_set(username, password)
            try:
                c.connect("127.0.0.1", port)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
                continue
            c.loop_start()
            return c

    client, attempts, i = connect(), 0, 0
    window = 500
    while i < len(messages):
        chunk = messages[i : i + window]
        infos = [client.publish(t, p, qos=qos) for t, p in chunk]
        attempts += len(chunk)
        try:
            for info in infos:
                info.wait_for_publish(timeout=10)
            if not all(info.is_published() for info in infos):
                raise RuntimeError("not acknowledged")
        except (RuntimeError, ValueError):
            client.loop_stop()
            client.disconnect()
            client = connect()
            continue  # resend the chunk: duplicates collapse in the store
        i += len(chunk)
    client.loop_stop()
    client.disconnect()
    return attempts
