"""Request Tracker (the reference desk, real RT 5 on loopback) seen through the contract."""

from __future__ import annotations

from gatewatch.ticketing_client.adapters.base import Adapter
from gatewatch.ticketing_client.adapters.rt import DEFAULT_PRIORITIES
from harness import Desk
from probe import Misconfigured
from rt_client import RTReader

LEVEL = {v: k for k, v in DEFAULT_PRIORITIES.items()}


class RTProbe:
    name = "rt"
    escalation_queue = "Supervisors"

    def __init__(self, reader: RTReader) -> None:
        self.rt = reader

    def adapter(self, desk: Desk) -> Adapter:
        return self.rt.adapter()

    def tickets_for(self, key: str) -> list[str]:
        return sorted(self.rt.tickets_for(key), key=int)

    def subject(self, ticket: str) -> str:
        return str(self.rt.ticket(ticket)["Subject"])

    def texts(self, ticket: str) -> list[str]:
        return self.rt.comments(ticket)

    def priority(self, ticket: str) -> int:
        return LEVEL[self.rt.priority(ticket)]

    def queue(self, ticket: str) -> str:
        return self.rt.queue_name(ticket)

    def resolved(self, ticket: str) -> bool:
        return self.rt.ticket(ticket)["Status"] == "resolved"

    def acknowledge(self, ticket: str) -> None:
        self.rt.take_as_tech(ticket)

    def misconfigured(self, kind: str) -> Misconfigured | None:
        from gatewatch.ticketing_client.adapters.rt import RequestTrackerAdapter, RTSettings

        good = self.rt.adapter().settings
        wrong = {
            "credentials": ("token_env", {"token": "0-0-wrongtoken"}, "Unauthorized"),
            "project": ("queue", {"queue": "No Such Queue"}, "No Such Queue"),
            "key_field": ("key_field", {"key_field": "NoSuchField"}, "NoSuchField"),
        }[kind]
        settings = RTSettings(**{**_fields(good), **wrong[1]})
        return Misconfigured(RequestTrackerAdapter(settings), wrong[0], wrong[2])


def _fields(settings: object) -> dict[str, object]:
    return {k: getattr(settings, k) for k in settings.__slots__}  # type: ignore[attr-defined]
