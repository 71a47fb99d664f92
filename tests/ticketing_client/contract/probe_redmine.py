"""Redmine (real Redmine 5 from Debian on loopback) seen through the contract."""

from __future__ import annotations

from gatewatch.ticketing_client.adapters.base import Adapter
from harness import Desk
from probe import Misconfigured
from redmine_client import LEVEL, RedmineReader


class RedmineProbe:
    name = "redmine"
    escalation_queue = "Supervisors"  # the project the "Supervisors" queue maps to

    def __init__(self, reader: RedmineReader) -> None:
        self.rm = reader

    def adapter(self, desk: Desk) -> Adapter:
        return self.rm.adapter()

    def tickets_for(self, key: str) -> list[str]:
        return self.rm.issues_for(key)

    def subject(self, ticket: str) -> str:
        return str(self.rm.issue(ticket)["subject"])

    def texts(self, ticket: str) -> list[str]:
        return self.rm.texts(ticket)

    def priority(self, ticket: str) -> int:
        return LEVEL[self.rm.issue(ticket)["priority"]["id"]]

    def queue(self, ticket: str) -> str:
        return str(self.rm.issue(ticket)["project"]["name"])

    def resolved(self, ticket: str) -> bool:
        return self.rm.issue(ticket)["status"]["name"] == "Resolved"

    def acknowledge(self, ticket: str) -> None:
        self.rm.take_as_tech(ticket)

    def misconfigured(self, kind: str) -> Misconfigured | None:
        if kind == "credentials":
            adapter = self.rm.adapter(api_key="0123456789abcdef0123456789abcdef01234567")
            return Misconfigured(adapter, "api_key_env", "HTTP 401")
        if kind == "project":
            return Misconfigured(self.rm.adapter(project="no-such-project"), "project", "HTTP 404")
        adapter = self.rm.adapter(key_field_id=999)
        return Misconfigured(adapter, "key_field_id", "custom field 999")
