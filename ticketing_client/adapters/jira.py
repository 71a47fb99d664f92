"""Jira Cloud (REST v3) and Jira Data Center (REST v2): issues found by a label.

The incident key travels as a label, ``<label_prefix><sha256 of the key>`` (labels
cannot hold spaces and are matched exactly by JQL); ``create`` runs a JQL search
for an issue of the project with that label that is not in the Done category.
Cloud v3 takes texts as Atlassian Document Format, Data Center v2 as strings.
Resolve and reopen are workflow transitions looked up by name; a transition the
workflow does not offer from the current status is a SettingError naming the
setting, with the transitions Jira does offer. Priority and component changes
are read back. Comments are skipped when the issue's last comment by the API
user is already the same text, so a retry never posts twice.

Jira Cloud's search index is eventually consistent: an issue created a moment
ago may not be found yet, so a create retried within seconds of a lost answer
can still duplicate (the worker waits 2x the timeout before retrying such a
create, which covers the usual index delay).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import httpx
from gatewatch.ticketing_client.actions import TicketAction
from gatewatch.ticketing_client.adapters.desk_http import Connection, DeskClient
from gatewatch.ticketing_client.adapters.options import (
    HTTP_OPTIONS,
    AdapterConfigError,
    AdapterContext,
    Desk,
    Options,
    auth_from,
    connection,
    int_map,
    need,
    queues,
    strings,
)
from gatewatch.ticketing_client.errors import RejectedError

DEFAULT_PRIORITIES: Mapping[int, str] = MappingProxyType(
    {1: "Highest", 2: "High", 3: "Medium", 4: "Low"}
)
MAX_PAGES = 20
# a create refused for one of these fields: the setting that fixes it
FIELD_SETTINGS = {"project": "project", "issuetype": "issue_type", "priority": "priorities",
                  "labels": "project", "components": "queues"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class JiraSettings:
    conn: Connection  # https://<site>.atlassian.net or the DC base URL; basic or bearer
    project: str  # project key, e.g. OPS
    api: str = "cloud"  # cloud (REST v3) | datacenter (REST v2)
    issue_type: str = "Task"
    label_prefix: str = "gatewatch-"
    priorities: Mapping[int, str] = field(default_factory=lambda: DEFAULT_PRIORITIES)
    resolve_transition: str = "Done"
    reopen_transition: str = "Reopen"
    queues: Mapping[str, str] = field(default_factory=dict)  # queue -> component name

    def __post_init__(self) -> None:
        if self.api not in ("cloud", "datacenter"):
            raise ValueError(f"jira api must be cloud or datacenter, not {self.api!r}")
        missing = [p for p in (1, 2, 3, 4) if p not in self.priorities]
        if missing:
            raise ValueError(f"jira priorities misses P{missing[0]}; map all of P1..P4")

    @property
    def version(self) -> str:
        return "3" if self.api == "cloud" else "2"

    @property
    def timeout(self) -> float:
        return float(self.conn.timeout)


def label_for(prefix: str, incident_key: str) -> str:
    return prefix + hashlib.sha256(incident_key.encode()).hexdigest()[:24]


def adf(text: str) -> dict[str, Any]:
    """Plain text as an Atlassian Document: one paragraph per line."""
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
        for line in text.split("\n")
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def plain(value: object) -> str:
    if isinstance(value, dict):
        blocks = value.get("content") or []
        return "\n".join("".join(p.get("text", "") for p in b.get("content") or []) for b in blocks)
    return "" if value is None else str(value)


class JiraAdapter:
    name = "jira"
    takes_attachments = False

    def __init__(self, settings: JiraSettings, *, transport: Any = None) -> None:
        self.settings = settings
        self.api = f"/rest/api/{settings.version}"
        self.http = DeskClient(
            "jira", settings.conn, transport, **{"Content-Type": "application/json"}
        )
        self.errors = self.http.errors
        self._me: str | None = None

    def _text(self, text: str) -> object:
        return adf(text) if self.settings.version == "3" else text

    def _refused(self, response: httpx.Response) -> tuple[str, str] | None:
        """A 400 naming a field: which setting fixes it."""
        try:
            errors = dict(response.json().get("errors") or {})
        except (ValueError, AttributeError):
            return None
        for name, setting in FIELD_SETTINGS.items():
            if name in errors:
                return setting, f"Jira refused the {name} field: {errors[name]}"
        return None

    async def _json(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        data = (await self.http.call(method, self.api + path, **kw)).json()
        if not isinstance(data, dict):
            raise RejectedError(f"jira: {path} answered {type(data).__name__}, not an object")
        return data

    async def _search(self, jql: str) -> list[dict[str, Any]]:
        refusals = {400: ("project", "the JQL search was refused (unknown project or no access?)")}
        body: dict[str, Any] = {"jql": jql, "fields": ["labels", "status"], "maxResults": 50}
        issues: list[dict[str, Any]] = []
        path = "/search/jql" if self.settings.version == "3" else "/search"
        for _ in range(MAX_PAGES):
            page = await self._json("POST", path, json=body, refusals=refusals)
            issues += page.get("issues") or []
            if self.settings.version == "3":
                if not page.get("nextPageToken"):
                    return issues
                body["nextPageToken"] = page["nextPageToken"]
            else:
                if len(issues) >= int(page.get("total", 0)) or not page.get("issues"):
                    return issues
                body["startAt"] = len(issues)
        raise RejectedError(f"jira: the search has more than {MAX_PAGES} pages")

    async def find(self, incident_key: str) -> str | None:
        label = label_for(self.settings.label_prefix, incident_key)
        jql = (
            f'project = "{self.settings.project}" AND labels = "{label}"'
            " AND statusCategory != Done ORDER BY created ASC"
        )
        for issue in await self._search(jql):
            if label in (issue.get("fields") or {}).get("labels", []):
                return str(issue["key"])
        return None

    async def create(self, action: TicketAction) -> str:
        existing = await self.find(action.incident_key)
        if existing is not None:
            return existing
        s = self.settings
        label = label_for(s.label_prefix, action.incident_key)
        priority = s.priorities[action.priority or 3]
        fields = {
            "project": {"key": s.project},
            "issuetype": {"name": s.issue_type},
            "summary": action.subject[:255],
            "description": self._text(action.text),
            "priority": {"name": priority},
            "labels": [label],
        }
        created = await self._json(
            "POST", "/issue", json={"fields": fields}, classify=self._refused
        )
        key = str(created["key"])
        issue = await self._issue(key)
        if (
            label not in issue["fields"].get("labels", [])
            or issue["fields"]["priority"]["name"] != priority
        ):
            raise RejectedError(f"jira: {key} was created without the label or priority asked for")
        return key

    async def _issue(self, key: str) -> dict[str, Any]:
        params = {"fields": "labels,priority,status,assignee,components"}
        refusals = {404: ("project", f"issue {key} is gone or not visible to the API user")}
        return await self._json("GET", f"/issue/{key}", params=params, refusals=refusals)

    async def _comments(self, key: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            page = await self._json(
                "GET", f"/issue/{key}/comment", params={"startAt": str(len(out))}
            )
            out += page.get("comments") or []
            if len(out) >= int(page.get("total", 0)) or not page.get("comments"):
                return out
        raise RejectedError(f"jira: {key} has more than {MAX_PAGES} pages of comments")

    async def comment(self, ticket_id: str, action: TicketAction) -> None:
        comments = await self._comments(ticket_id)
        if comments and plain(comments[-1].get("body")) == action.text:
            return  # a retry of a comment that was saved
        await self.http.call(
            "POST", f"{self.api}/issue/{ticket_id}/comment", json={"body": self._text(action.text)}
        )

    async def delivered(self, ticket_id: str, action: TicketAction) -> bool:
        return any(plain(c.get("body")) == action.text for c in await self._comments(ticket_id))

    async def acknowledged(self, ticket_id: str) -> bool:
        fields = (await self._issue(ticket_id))["fields"]
        category = ((fields.get("status") or {}).get("statusCategory") or {}).get("key")
        return fields.get("assignee") is not None or category == "indeterminate"

    async def _edit(self, ticket_id: str, fields: dict[str, Any]) -> None:
        if not fields:
            return
        await self.http.call(
            "PUT", f"{self.api}/issue/{ticket_id}", json={"fields": fields}, classify=self._refused
        )
        have = (await self._issue(ticket_id))["fields"]
        wrong = [k for k, v in fields.items() if have.get(k) != v and not _same(have.get(k), v)]
        if wrong:
            raise RejectedError(
                f"jira: {ticket_id} did not take {wrong}: has { {k: have.get(k) for k in wrong} }"
            )

    async def _move(self, ticket_id: str, transition: str, setting: str) -> None:
        data = await self._json("GET", f"/issue/{ticket_id}/transitions")
        offered = {t["name"].lower(): t for t in data.get("transitions") or ()}
        chosen = offered.get(transition.lower())
        if chosen is None:
            names = ", ".join(t["name"] for t in offered.values()) or "none"
            raise self.http.fail(
                setting,
                f"the workflow offers no transition {transition!r} for {ticket_id}",
                f"transitions offered now: {names}",
            )
        await self.http.call(
            "POST",
            f"{self.api}/issue/{ticket_id}/transitions",
            json={"transition": {"id": chosen["id"]}},
        )
        status = (await self._issue(ticket_id))["fields"]["status"]["name"]
        if status != chosen["to"]["name"]:
            raise self.http.fail(
                setting,
                f"{ticket_id} did not move to {chosen['to']['name']!r}",
                f"status is {status!r}",
            )

    async def escalate(self, ticket_id: str, action: TicketAction) -> None:
        fields: dict[str, Any] = {}
        if action.priority is not None:
            fields["priority"] = {"name": self.settings.priorities[action.priority]}
        if action.queue:
            fields["components"] = [{"name": self.settings.queues.get(action.queue, action.queue)}]
        await self._edit(ticket_id, fields)
        await self.comment(ticket_id, action)

    async def resolve(self, ticket_id: str, action: TicketAction) -> None:
        if action.close and not await self._in_category(ticket_id, "done"):
            await self._move(ticket_id, self.settings.resolve_transition, "resolve_transition")
        await self.comment(ticket_id, action)

    async def reopen(self, ticket_id: str, action: TicketAction) -> None:
        if await self._in_category(ticket_id, "done"):
            await self._move(ticket_id, self.settings.reopen_transition, "reopen_transition")
        if action.priority is not None:
            await self._edit(
                ticket_id, {"priority": {"name": self.settings.priorities[action.priority]}}
            )
        await self.comment(ticket_id, action)

    async def _in_category(self, ticket_id: str, category: str) -> bool:
        status = (await self._issue(ticket_id))["fields"]["status"]
        return bool(status.get("statusCategory", {}).get("key") == category)

    async def aclose(self) -> None:
        await self.http.aclose()


def _same(have: object, want: object) -> bool:
    """Jira answers with more keys than were sent (ids, urls): compare the names."""
    if isinstance(want, dict) and isinstance(have, dict):
        return have.get("name") == want.get("name")
    if isinstance(want, list) and isinstance(have, list):
        return [_name(h) for h in have] == [_name(w) for w in want]
    return have == want


def _name(value: object) -> object:
    return value.get("name") if isinstance(value, dict) else value


TEXT_SETTINGS = ("api", "issue_type", "label_prefix", "resolve_transition", "reopen_transition")


def jira_settings(options: Options, ctx: AdapterContext) -> JiraSettings:
    """Cloud: ``auth: basic`` with ``user`` (e-mail) + ``password_env`` (the API token), or
    ``bearer`` (OAuth 2.0); Data Center: ``basic`` or ``bearer`` (a personal access token)."""
    auth = auth_from(options, ctx, "jira", "basic")
    extra: dict[str, Any] = strings(options, TEXT_SETTINGS)
    if "priorities" in options:
        extra["priorities"] = int_map(options, "priorities", "jira")
    conn, project = connection(options, ctx, "jira", auth), need(options, "project", "jira")
    try:
        settings = JiraSettings(conn=conn, project=project, queues=queues(options), **extra)
    except (TypeError, ValueError) as exc:
        raise AdapterConfigError(str(exc)) from None
    return settings


DESK = Desk(
    "jira",
    options=HTTP_OPTIONS | {"project", *TEXT_SETTINGS},
    settings=jira_settings,
    build=lambda settings, ctx: JiraAdapter(settings),
    takes_attachments=JiraAdapter.takes_attachments,
)
