"""When connections keep ending right after CONNACK: back off, and say why once.

Pure: the caller passes the time. Two gateways with one client id take each
other's session over in a loop (MQTT 5: DISCONNECT 0x8E; MQTT 3.1.1: the
broker just closes the older connection), and a broker that drops us right
after accepting us does much the same. Without a backoff such a loop
reconnects many times a second for ever.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FlapGuard:
    base: float = 0.2  # delay after an ordinary loss
    cap: float = 30.0
    stable_after: float = 60.0  # a connection that lived this long ends an episode
    flaps: int = 0  # consecutive short or taken-over connections
    takeovers: int = 0  # session takeovers seen, in all
    flapping: bool = False  # in an episode: from its first sign to a stable connection
    _connected_at: float | None = None

    def connected(self, now: float) -> None:
        self._connected_at = now

    def lost(self, now: float, *, taken_over: bool) -> tuple[float, bool]:
        """(seconds to wait before reconnecting, True when this loss starts an episode)."""
        lived = now - self._connected_at if self._connected_at is not None else 0.0
        self._connected_at = None
        if taken_over:
            self.takeovers += 1
        if not taken_over and lived >= self.stable_after:
            self.flaps, self.flapping = 0, False
            return self.base, False
        self.flaps += 1
        if not taken_over and self.flaps < 2:  # one short connection is not yet a loop
            return self.base, False
        started = not self.flapping
        self.flapping = True
        return min(self.base * 2 ** min(self.flaps, 30), self.cap), started
