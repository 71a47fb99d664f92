"""sd_notify(3) over $NOTIFY_SOCKET: READY, WATCHDOG, STATUS, STOPPING.

The protocol is one datagram of ``KEY=value`` lines to the AF_UNIX socket
named in $NOTIFY_SOCKET (a leading ``@`` means the abstract namespace). It is
a few lines of socket code, so no dependency. Without $NOTIFY_SOCKET (not
started by systemd) every call is a no-op. A failing send is logged once and
counted, never raised: systemd notices a silent service through its own
watchdog, and the daemon must not stop because a notification was lost.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Mapping

import structlog

log = structlog.get_logger("gatewatch.notify")


def notify_address(env: Mapping[str, str]) -> str | bytes | None:
    """The socket address of $NOTIFY_SOCKET, or None when systemd did not set one."""
    raw = env.get("NOTIFY_SOCKET", "")
    if raw.startswith("@"):
        return b"\0" + raw[1:].encode()
    if raw.startswith("/"):
        return raw
    return None


def watchdog_interval(env: Mapping[str, str], pid: int) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of $WATCHDOG_USEC), None when off.

    $WATCHDOG_PID, when set, names the process the watchdog is meant for.
    """
    watched = env.get("WATCHDOG_PID")
    if watched and watched != str(pid):
        return None
    try:
        usec = int(env.get("WATCHDOG_USEC", "0"))
    except ValueError:
        return None
    return usec / 2e6 if usec > 0 else None


class Notifier:
    """Sends state changes to the service manager."""

    def __init__(self, address: str | bytes | None) -> None:
        self.address = address
        self.sent = 0
        self.failures = 0
        self._status = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Notifier:
        return cls(notify_address(os.environ if env is None else env))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *fields: str) -> bool:
        if self.address is None or not fields:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.setblocking(False)  # a backed-up receiver must never stall the event loop
                s.sendto("\n".join(fields).encode(), self.address)
        except OSError as exc:
            self.failures += 1
            if self.failures == 1:
                log.error("sd_notify_failed", error=str(exc), socket=repr(self.address))
            return False
        self.sent += 1
        return True

    def ready(self, status: str) -> bool:
        self._status = status
        return self.send("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def status(self, status: str) -> bool:
        """STATUS=, only when it changed."""
        if status == self._status:
            return False
        self._status = status
        return self.send(f"STATUS={status}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def stopping(self, status: str = "draining: stopped taking messages") -> bool:
        self._status = status
        return self.send("STOPPING=1", f"STATUS={status}")


async def notify_loop(
    notifier: Notifier, interval: float, status: Callable[[], str], *, watchdog: bool
) -> None:
    """STATUS updates, and WATCHDOG=1 pings from the event loop itself: a wedged
    loop stops the pings and systemd restarts the service."""
    while True:
        if watchdog:
            notifier.watchdog()
        notifier.status(status())
        await asyncio.sleep(interval)
