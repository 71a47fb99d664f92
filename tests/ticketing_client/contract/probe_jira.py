"""Jira Cloud v3 / Data Center v2 (a fake mirroring their REST APIs) seen through the contract."""

from __future__ import annotations

from desk_doubles import JiraDesk
from gatewatch.ticketing_client.adapters.base import Adapter
from gatewatch.ticketing_client.adapters.jira import DEFAULT_PRIORITIES, label_for
from harness import Desk
from jira_fake import adf_text, is_adf
from probe import Misconfigured

LEVEL = {name: p for p, name in DEFAULT_PRIORITIES.items()}


class JiraProbe:
    name = "jira"
    escalation_queue = "Supervisors"  # the component the "Supervisors" queue maps to

    def __init__(self, desk: JiraDesk) -> None:
        self.jira = desk
        self.fake = desk.fake

    def adapter(self, desk: Desk) -> Adapter:
        return self.jira.adapter()

    def tickets_for(self, key: str) -> list[str]:
        label = label_for("gatewatch-", key)
        found = [i for i in self.fake.issues.values() if label in i["fields"]["labels"]]
        return [i["key"] for i in sorted(found, key=lambda i: int(i["id"]))]

    def _text(self, value: object) -> str:
        if self.fake.version == "3":
            assert is_adf(value), value
            return adf_text(value)  # type: ignore[arg-type]
        assert isinstance(value, str)
        return value

    def subject(self, ticket: str) -> str:
        return str(self.fake.issues[ticket]["fields"]["summary"])

    def texts(self, ticket: str) -> list[str]:
        description = self.fake.issues[ticket]["fields"]["description"]
        comments = [c["body"] for c in self.fake.comments.get(ticket, [])]
        return [self._text(description), *(self._text(c) for c in comments)]

    def priority(self, ticket: str) -> int:
        return LEVEL[self.fake.issues[ticket]["fields"]["priority"]["name"]]

    def queue(self, ticket: str) -> str:
        return ",".join(c["name"] for c in self.fake.issues[ticket]["fields"]["components"])

    def resolved(self, ticket: str) -> bool:
        return bool(self.fake.issues[ticket]["fields"]["status"]["name"] == "Done")

    def acknowledge(self, ticket: str) -> None:
        self.jira.take_as_tech(ticket)

    def misconfigured(self, kind: str) -> Misconfigured | None:
        if kind == "credentials":
            adapter = self.jira.adapter(token="revoked")
            return Misconfigured(adapter, "token_env", "Client must be authenticated")
        if kind == "project":
            adapter = self.jira.adapter(project="NOPE")
            return Misconfigured(adapter, "project", "The value 'NOPE' does not exist")
        self.fake.add_project("BARE", ("Supervisors",), labels_on_screen=False)
        adapter = self.jira.adapter(project="BARE")
        return Misconfigured(adapter, "project", "Field 'labels' cannot be set")
