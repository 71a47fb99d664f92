"""ServiceNow (a fake mirroring the REST Table API, on loopback) seen through the contract."""

from __future__ import annotations

from desk_doubles import ServiceNowDesk
from gatewatch.ticketing_client.adapters.base import Adapter
from harness import Desk
from probe import Misconfigured


class ServiceNowProbe:
    name = "servicenow"
    escalation_queue = "Supervisors"  # the assignment group the "Supervisors" queue maps to

    def __init__(self, desk: ServiceNowDesk) -> None:
        self.sn = desk
        self.fake = desk.fake

    def adapter(self, desk: Desk) -> Adapter:
        return self.sn.adapter()

    def tickets_for(self, key: str) -> list[str]:
        found = [r for r in self.fake.incidents.values() if r["correlation_id"] == key]
        return [r["sys_id"] for r in sorted(found, key=lambda r: r["number"])]

    def subject(self, ticket: str) -> str:
        return str(self.fake.incidents[ticket]["short_description"])

    def texts(self, ticket: str) -> list[str]:
        notes = [j["value"] for j in self.fake.journal if j["element_id"] == ticket]
        return [self.fake.incidents[ticket]["description"], *notes]

    def priority(self, ticket: str) -> int:
        return int(self.fake.incidents[ticket]["priority"])  # computed from impact x urgency

    def queue(self, ticket: str) -> str:
        return self.fake.groups[self.fake.incidents[ticket]["assignment_group"]["value"]]

    def resolved(self, ticket: str) -> bool:
        return self.fake.incidents[ticket]["state"] in ("6", "7")

    def acknowledge(self, ticket: str) -> None:
        self.sn.take_as_tech(ticket)

    def misconfigured(self, kind: str) -> Misconfigured | None:
        if kind == "credentials":
            adapter = self.sn.adapter(password="wrong")
            return Misconfigured(adapter, "password_env", "User Not Authenticated")
        if kind == "project":
            adapter = self.sn.adapter(assignment_group="No Such Group")
            return Misconfigured(adapter, "assignment_group", "0 rows in sys_user_group")
        adapter = self.sn.adapter(key_field="u_incident_key")
        return Misconfigured(adapter, "key_field", "u_incident_key")
