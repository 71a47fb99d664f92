"""Reading a real Redmine back in tests (sync httpx), and acting as the technician."""

from __future__ import annotations

import time
from typing import Any

import httpx
from gatewatch.ticketing_client.adapters.desk_http import Auth, Connection
from gatewatch.ticketing_client.adapters.redmine import (
    DEFAULT_PRIORITIES,
    RedmineAdapter,
    RedmineSettings,
)
from redmine_server import PROJECT, Redmine

PRIORITY_IDS = {"Low": 1, "Normal": 2, "High": 3, "Urgent": 4, "Immediate": 5}  # default data
LEVEL = {PRIORITY_IDS[name]: p for p, name in DEFAULT_PRIORITIES.items()}


class RedmineReader:
    def __init__(self, server: Redmine) -> None:
        self.server = server
        self.http = self._client("gatewatch")
        self.tech = self._client("tech")
        self.admin = self._client("admin2")

    def _client(self, user: str) -> httpx.Client:
        headers = {"X-Redmine-API-Key": self.server.key(user)}
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=60)

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.http.get("/users/current.json").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("Redmine did not answer /users/current.json")
            time.sleep(0.2)

    @property
    def key_field_id(self) -> int:
        return int(str(self.server.keys["key_field_id"]))

    def settings(self, **kw: Any) -> RedmineSettings:
        key = str(kw.pop("api_key", self.server.key("gatewatch")))
        auth = Auth("header", key, header="X-Redmine-API-Key", secret_setting="api_key_env")
        base: dict[str, Any] = {
            "conn": Connection(self.server.url, auth, timeout=60.0),
            "project": PROJECT,
            "key_field_id": self.key_field_id,
            "queues": {"Supervisors": "supervisors"},
        }
        return RedmineSettings(**{**base, **kw})

    def adapter(self, **kw: Any) -> RedmineAdapter:
        return RedmineAdapter(self.settings(**kw))

    def issue(self, ticket: str) -> dict[str, Any]:
        params = {"include": "journals"}
        data = self.http.get(f"/issues/{ticket}.json", params=params).raise_for_status().json()
        return dict(data["issue"])

    def issues_for(self, key: str) -> list[str]:
        """Every issue (any status, any project) carrying the incident key, oldest first."""
        cf = f"cf_{self.key_field_id}"
        params = [
            ("f[]", cf),
            (f"op[{cf}]", "="),
            (f"v[{cf}][]", key),
            ("f[]", "status_id"),
            ("op[status_id]", "*"),
            ("sort", "id"),
            ("limit", "100"),
        ]
        data = self.admin.get("/issues.json", params=params).raise_for_status().json()
        return [str(i["id"]) for i in data["issues"]]

    def texts(self, ticket: str) -> list[str]:
        issue = self.issue(ticket)
        notes = [j["notes"] for j in issue.get("journals") or () if j.get("notes")]
        return [issue["description"], *notes]

    def files(self, ticket: str) -> dict[str, tuple[str, bytes]]:
        """The issue's attachments: file name -> (content type, bytes downloaded back)."""
        params = {"include": "attachments"}
        data = self.http.get(f"/issues/{ticket}.json", params=params).raise_for_status().json()
        out = {}
        for a in data["issue"].get("attachments") or ():
            body = self.http.get(f"/attachments/download/{a['id']}/{a['filename']}")
            out[a["filename"]] = (a["content_type"], body.raise_for_status().content)
        return out

    def take_as_tech(self, ticket: str) -> None:
        body = {"issue": {"assigned_to_id": self.server.keys["tech_id"], "status_id": 2}}
        self.tech.put(f"/issues/{ticket}.json", json=body).raise_for_status()
        assert self.issue(ticket)["assigned_to"]["id"] == self.server.keys["tech_id"]

    def close_as_admin(self, ticket: str) -> None:
        self.admin.put(
            f"/issues/{ticket}.json", json={"issue": {"status_id": 5}}
        ).raise_for_status()
        assert self.issue(ticket)["status"]["name"] == "Closed"

    def close(self) -> None:
        for client in (self.http, self.tech, self.admin):
            client.close()
