"""Zendesk (a fake mirroring the Ticketing API v2, on loopback) seen through the contract."""

from __future__ import annotations

from desk_doubles import ZendeskDesk
from gatewatch.ticketing_client.adapters.base import Adapter
from gatewatch.ticketing_client.adapters.zendesk import DEFAULT_PRIORITIES
from harness import Desk
from probe import Misconfigured

LEVEL = {name: p for p, name in DEFAULT_PRIORITIES.items()}


class ZendeskProbe:
    name = "zendesk"
    escalation_queue = "Supervisors"  # the group the "Supervisors" queue maps to

    def __init__(self, desk: ZendeskDesk) -> None:
        self.zd = desk
        self.fake = desk.fake

    def adapter(self, desk: Desk) -> Adapter:
        return self.zd.adapter()

    def tickets_for(self, key: str) -> list[str]:
        return [str(t["id"]) for t in self.fake.tickets.values() if t["external_id"] == key]

    def subject(self, ticket: str) -> str:
        return str(self.fake.tickets[int(ticket)]["subject"])

    def texts(self, ticket: str) -> list[str]:
        comments = self.fake.comments[int(ticket)]
        assert not any(c["public"] for c in comments), "gatewatch notes must be internal"
        return [c["body"] for c in comments]

    def priority(self, ticket: str) -> int:
        return LEVEL[self.fake.tickets[int(ticket)]["priority"]]

    def queue(self, ticket: str) -> str:
        return self.fake.groups[self.fake.tickets[int(ticket)]["group_id"]]

    def resolved(self, ticket: str) -> bool:
        return self.fake.tickets[int(ticket)]["status"] in ("solved", "closed")

    def acknowledge(self, ticket: str) -> None:
        self.zd.take_as_tech(ticket)

    def misconfigured(self, kind: str) -> Misconfigured | None:
        if kind == "credentials":
            adapter = self.zd.adapter(token="wrong-token")
            return Misconfigured(adapter, "token_env", "Couldn't authenticate you")
        if kind == "project":
            adapter = self.zd.adapter(group="No Such Group")
            return Misconfigured(adapter, "group", "groups: Building Services, Supervisors")
        return None  # external_id is a built-in field: nothing to misconfigure
