"""The backlog a broker replays when our persistent session resumes.

Messages published while gatewatch was away wait in the broker's queue for our session
and are delivered right after the CONNACK that says ``session present``, ahead of live
traffic. A reading of theirs without a payload time has its delivery time as its time,
not its measurement time. The criterion, chosen to be testable without the broker's
help (MQTT does not say how long the queue is): the backlog window opens at a CONNACK
with session present and closes at the first quiet moment, when every message received
is durable and none came for ``quiet`` seconds, or ``longest`` seconds after it opened
(a site whose traffic never pauses). Readings without a payload time received inside
the window are marked ``Reading.backlog``; what the rules do with them: rules/engine.py.
"""

from __future__ import annotations

from dataclasses import dataclass

QUIET_S = 0.2
LONGEST_S = 60.0


@dataclass(frozen=True, slots=True)
class BacklogReport:
    """One closed window: what it held."""

    messages: int
    readings_marked: int
    seconds: float


class BacklogWindow:
    """Open from a resumed session's CONNACK to the first quiet moment. Pure: the
    caller passes the time and whether ingest is idle."""

    def __init__(self, quiet: float = QUIET_S, longest: float = LONGEST_S) -> None:
        self.quiet, self.longest = quiet, longest
        self.active = False
        self._opened = self._last = 0.0
        self._messages = self._marked = 0

    def open(self, now: float) -> None:
        """A CONNACK with session present; a window already open goes on (a reconnect
        in the middle of a backlog)."""
        if not self.active:
            self.active, self._opened, self._messages, self._marked = True, now, 0, 0
        self._last = now

    def saw(self, now: float, marked: int) -> None:
        """A message received inside the window, with ``marked`` readings marked."""
        self._last = now
        self._messages += 1
        self._marked += marked

    def close_if_quiet(self, now: float, idle: bool) -> BacklogReport | None:
        """Close the window if ingest is quiet (or it is open for ``longest``)."""
        if not self.active:
            return None
        if not (idle and now - self._last >= self.quiet) and now - self._opened < self.longest:
            return None
        return self.close(now)

    def close(self, now: float) -> BacklogReport | None:
        if not self.active:
            return None
        self.active = False
        return BacklogReport(self._messages, self._marked, round(now - self._opened, 3))
