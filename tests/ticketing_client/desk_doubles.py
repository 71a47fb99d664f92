"""The fakes served on loopback with their users, groups and projects, for the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from gatewatch.ticketing_client.adapters.desk_http import Auth, Connection
from gatewatch.ticketing_client.adapters.jira import JiraAdapter, JiraSettings
from gatewatch.ticketing_client.adapters.servicenow import ServiceNowAdapter, ServiceNowSettings
from gatewatch.ticketing_client.adapters.zendesk import ZendeskAdapter, ZendeskSettings
from http_fake import FakeServer
from jira_fake import JiraFake
from servicenow_fake import ServiceNowFake
from zendesk_fake import ZendeskFake

ZD_AGENT, ZD_TECH = "gatewatch@example.org", "tech@example.org"


@dataclass
class ZendeskDesk:
    """A ZendeskFake on loopback with the API agent, a technician and two groups."""

    fake: ZendeskFake = field(default_factory=ZendeskFake)
    tls_dir: Path | None = None
    server: FakeServer | None = None

    def __post_init__(self) -> None:
        self.fake.add_agent(ZD_AGENT, "agent-token-1")
        self.tech_id = self.fake.add_agent(ZD_TECH, "tech-token-1")
        self.fake.groups.update({360001: "Building Services", 360002: "Supervisors"})
        self.server = FakeServer(self.fake, tls_dir=self.tls_dir).start()

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def settings(self, token: str = "agent-token-1", **kw: Any) -> ZendeskSettings:
        auth = Auth("basic", token, user=f"{ZD_AGENT}/token", secret_setting="token_env")
        base: dict[str, Any] = {
            "conn": Connection(self.url, auth, timeout=10.0),
            "group": "Building Services",
            "queues": {"Supervisors": "Supervisors"},
        }
        return ZendeskSettings(**{**base, **kw})

    def adapter(self, **kw: Any) -> ZendeskAdapter:
        return ZendeskAdapter(self.settings(**kw))

    def take_as_tech(self, ticket: str) -> None:
        auth = (f"{ZD_TECH}/token", "tech-token-1")
        body = {"ticket": {"assignee_id": self.tech_id}}
        with httpx.Client(base_url=self.url, auth=auth) as client:
            client.put(f"/api/v2/tickets/{ticket}.json", json=body).raise_for_status()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


@dataclass
class ServiceNowDesk:
    """A ServiceNowFake on loopback with the API user, a technician and two groups."""

    fake: ServiceNowFake = field(default_factory=ServiceNowFake)
    server: FakeServer | None = None

    def __post_init__(self) -> None:
        self.fake.add_user("gatewatch", "sn-password-1")
        self.tech_id = self.fake.add_user("tech", "tech-password-1")
        self.fake.groups.update({"a" * 32: "Building Services", "b" * 32: "Supervisors"})
        self.server = FakeServer(self.fake).start()

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def settings(self, password: str = "sn-password-1", **kw: Any) -> ServiceNowSettings:
        auth = Auth("basic", password, user="gatewatch", secret_setting="password_env")
        base: dict[str, Any] = {
            "conn": Connection(self.url, auth, timeout=10.0),
            "assignment_group": "Building Services",
            "queues": {"Supervisors": "Supervisors"},
        }
        return ServiceNowSettings(**{**base, **kw})

    def adapter(self, **kw: Any) -> ServiceNowAdapter:
        return ServiceNowAdapter(self.settings(**kw))

    def take_as_tech(self, sys_id: str) -> None:
        body = {"assigned_to": self.tech_id, "state": "2"}
        with httpx.Client(base_url=self.url, auth=("tech", "tech-password-1")) as client:
            client.patch(f"/api/now/table/incident/{sys_id}", json=body).raise_for_status()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


@dataclass
class JiraDesk:
    """A JiraFake (Cloud v3 or Data Center v2) on loopback: project OPS, two components."""

    api: str = "cloud"
    fake: JiraFake = field(default_factory=JiraFake)
    server: FakeServer | None = None

    def __post_init__(self) -> None:
        self.fake.version = "3" if self.api == "cloud" else "2"
        self.fake.users.update({"gatewatch@example.org": "jira-token-1", "tech": "tech-pw"})
        self.fake.add_project("OPS", ("Building Services", "Supervisors"))
        self.server = FakeServer(self.fake).start()

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def settings(self, token: str = "jira-token-1", **kw: Any) -> JiraSettings:
        auth = Auth("basic", token, user="gatewatch@example.org", secret_setting="token_env")
        base: dict[str, Any] = {
            "conn": Connection(self.url, auth, timeout=10.0),
            "project": "OPS",
            "api": self.api,
            "queues": {"Supervisors": "Supervisors"},
        }
        return JiraSettings(**{**base, **kw})

    def adapter(self, **kw: Any) -> JiraAdapter:
        return JiraAdapter(self.settings(**kw))

    def take_as_tech(self, key: str) -> None:
        version = self.fake.version
        with httpx.Client(base_url=self.url, auth=("tech", "tech-pw")) as client:
            body = {"fields": {"assignee": {"name": "tech"}}}
            client.put(f"/rest/api/{version}/issue/{key}", json=body).raise_for_status()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
