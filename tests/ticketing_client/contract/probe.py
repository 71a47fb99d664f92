"""What the contract suite needs from a desk: an adapter, and eyes on the desk.

A probe builds the adapter under test against its desk and reads that desk back
in the desk's own terms (its API as the API user, not the adapter), mapped to
what the contract compares: P-levels, queue names, resolved or not, texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gatewatch.ticketing_client.adapters.base import Adapter
from harness import Desk

# misconfigurations every desk with a server must report clearly (kind -> what is wrong)
MISCONFIGURATIONS = ("credentials", "project", "key_field")


@dataclass(frozen=True, slots=True)
class Misconfigured:
    adapter: Adapter
    setting: str  # the config setting the error must name
    desk_says: str  # a fragment of the desk's own message the error must carry


class Probe(Protocol):
    name: str  # the desk's name in errors ("redmine", "jira", ...)
    escalation_queue: str  # the desk-side name the "Supervisors" escalation must land in

    def adapter(self, desk: Desk) -> Adapter: ...

    def tickets_for(self, key: str) -> list[str]:
        """Every ticket of the desk (any status) carrying the incident key, oldest first."""
        ...

    def subject(self, ticket: str) -> str: ...

    def texts(self, ticket: str) -> list[str]:
        """The description followed by every comment/note, oldest first."""
        ...

    def priority(self, ticket: str) -> int:
        """The desk's priority mapped back to P1..P4."""
        ...

    def queue(self, ticket: str) -> str: ...

    def resolved(self, ticket: str) -> bool: ...

    def acknowledge(self, ticket: str) -> None:
        """A technician takes the ticket, through the desk's API as that person."""
        ...

    def misconfigured(self, kind: str) -> Misconfigured | None:
        """An adapter with one setting wrong (see MISCONFIGURATIONS); None: not applicable."""
        ...
