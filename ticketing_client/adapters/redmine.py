"""Redmine 5 over its REST API (https://www.redmine.org/projects/redmine/wiki/Rest_api).

Issues carry the incident key in an issue custom field (``key_field_id``);
``create`` searches for an open issue with that key first. Redmine answers 2xx
to many mistakes (an unknown custom field, a transition the workflow forbids, a
bad tracker), and 200 with an empty list to a wrong key on searches, so the
adapter checks the credentials, the project and that the key field really
filters before the first create, and reads the issue back after every change.
State changes (status, priority, project) go before the note; notes are
skipped when the issue already has the same note from the API user, so a
retried action never posts a note twice. A create's attachments (the trend plot)
are uploaded first (POST /uploads.json) and referred to by token in the create.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from gatewatch.core.events import Attachment
from gatewatch.ticketing_client.actions import TicketAction
from gatewatch.ticketing_client.adapters.desk_http import Auth, Connection, DeskClient, SettingError
from gatewatch.ticketing_client.adapters.options import (
    HTTP_OPTIONS,
    AdapterConfigError,
    AdapterContext,
    Desk,
    Options,
    connection,
    int_map,
    need,
    queues,
    secret_of,
    strings,
)
from gatewatch.ticketing_client.errors import RejectedError

DEFAULT_PRIORITIES: Mapping[int, str] = MappingProxyType(
    {1: "Immediate", 2: "Urgent", 3: "High", 4: "Normal"}
)
ACK_FIELDS = frozenset({"assigned_to_id", "status_id"})


@dataclass(frozen=True, slots=True)
class RedmineSettings:
    conn: Connection  # base URL and the API key (header X-Redmine-API-Key)
    project: str  # identifier of the project new issues go to
    key_field_id: int  # id of the issue custom field holding the incident key
    priorities: Mapping[int, str] = field(default_factory=lambda: DEFAULT_PRIORITIES)
    resolved_status: str = "Resolved"
    reopen_status: str = "In Progress"
    queues: Mapping[str, str] = field(default_factory=dict)  # queue -> project identifier
    tracker: str = ""  # tracker name for new issues; "" = the project's default

    def __post_init__(self) -> None:
        missing = [p for p in (1, 2, 3, 4) if p not in self.priorities]
        if missing:
            raise ValueError(f"redmine priorities misses P{missing[0]}; map all of P1..P4")

    @property
    def timeout(self) -> float:
        return float(self.conn.timeout)


@dataclass
class _Names:
    """Redmine ids for the names in the settings, looked up once."""

    me: int = 0
    project: int = 0
    priorities: dict[int, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    tracker: int | None = None


class RedmineAdapter:
    name = "redmine"
    takes_attachments = True

    def __init__(self, settings: RedmineSettings, *, transport: Any = None) -> None:
        self.settings = settings
        self.http = DeskClient("redmine", settings.conn, transport)
        self.errors = self.http.errors
        self.ids: _Names | None = None
        self._projects: dict[str, int] = {}

    # -- plumbing -------------------------------------------------------------------------

    async def _get(self, path: str, **kw: Any) -> dict[str, Any]:
        data = (await self.http.call("GET", path, **kw)).json()
        if not isinstance(data, dict):
            raise RejectedError(f"redmine: {path} answered {type(data).__name__}, not an object")
        return data

    async def _put(self, ticket: str, issue: dict[str, Any]) -> None:
        await self.http.call(
            "PUT", f"/issues/{ticket}.json", json={"issue": issue}, refusals=_issue_refusals()
        )

    async def _issue(self, ticket: str, journals: bool = False) -> dict[str, Any]:
        params = {"include": "journals"} if journals else {}
        data = await self._get(f"/issues/{ticket}.json", params=params, refusals=_issue_refusals())
        return dict(data["issue"])

    async def _ready(self) -> _Names:
        if self.ids is None:
            names = _Names()
            names.me = await self._whoami()
            names.project = await self._project_id(self.settings.project, "project")
            names.priorities = await self._priority_ids()
            names.statuses = await self._status_ids()
            names.tracker = await self._tracker_id()
            await self._check_key_filter()
            self.ids = names
        return self.ids

    async def _whoami(self) -> int:
        secret_setting = self.settings.conn.auth.secret_setting
        refusals = {401: (secret_setting, "the API key was refused (or the REST API is off)")}
        data = await self._get("/users/current.json", refusals=refusals)
        return int(data["user"]["id"])

    async def _project_id(self, identifier: str, setting: str) -> int:
        if identifier not in self._projects:
            problem = f"project {identifier!r} does not exist or the API user is not a member"
            refusals = {404: (setting, problem), 403: (setting, problem)}
            data = await self._get(
                f"/projects/{quote(identifier, safe='')}.json", refusals=refusals
            )
            self._projects[identifier] = int(data["project"]["id"])
        return self._projects[identifier]

    async def _priority_ids(self) -> dict[int, int]:
        data = await self._get("/enumerations/issue_priorities.json")
        by_name = {p["name"]: int(p["id"]) for p in data["issue_priorities"]}
        return {
            p: self._named(by_name, n, "priorities") for p, n in self.settings.priorities.items()
        }

    async def _status_ids(self) -> dict[str, int]:
        by_name = {
            s["name"]: int(s["id"])
            for s in (await self._get("/issue_statuses.json"))["issue_statuses"]
        }
        s = self.settings
        return {
            "resolved": self._named(by_name, s.resolved_status, "resolved_status"),
            "reopen": self._named(by_name, s.reopen_status, "reopen_status"),
        }

    async def _tracker_id(self) -> int | None:
        if not self.settings.tracker:
            return None
        data = await self._get("/trackers.json")
        return self._named(
            {t["name"]: int(t["id"]) for t in data["trackers"]}, self.settings.tracker, "tracker"
        )

    def _named(self, by_name: Mapping[str, int], name: str, setting: str) -> int:
        if name not in by_name:
            known = ", ".join(sorted(by_name))
            raise self.http.fail(setting, f"Redmine has no {name!r}", f"known: {known}")
        return by_name[name]

    async def _check_key_filter(self) -> None:
        """An unknown or non-filter custom field is dropped silently: the search returns all."""
        probe = f"gatewatch-probe-{secrets.token_hex(8)}"
        data = await self._get(
            "/issues.json", params=[*self._key_query(probe, "*"), ("limit", "1")]
        )
        if int(data.get("total_count", 0)) > 0:
            n = self.settings.key_field_id
            raise self.http.fail(
                "key_field_id",
                f"custom field {n} cannot be searched (missing, not 'used as a filter',"
                " or not visible to the API user)",
                f"GET /issues.json filtered on cf_{n} = a value no issue has answered"
                f" total_count={data['total_count']} (the filter was dropped)",
            )

    def _key_query(self, key: str, status: str) -> list[tuple[str, str]]:
        cf = f"cf_{self.settings.key_field_id}"
        return [
            ("f[]", cf),
            (f"op[{cf}]", "="),
            (f"v[{cf}][]", key),
            ("f[]", "status_id"),
            ("op[status_id]", status),
        ]

    def _key_of(self, issue: Mapping[str, Any]) -> str | None:
        for cf in issue.get("custom_fields") or ():
            if cf.get("id") == self.settings.key_field_id:
                return str(cf.get("value") or "")
        return None

    # -- the adapter contract -------------------------------------------------------------

    async def find(self, incident_key: str) -> str | None:
        ids = await self._ready()
        params = [*self._key_query(incident_key, "o"), ("sort", "id"), ("limit", "100")]
        for issue in (await self._get("/issues.json", params=params))["issues"]:
            resolved = issue["status"]["id"] == ids.statuses["resolved"]
            if self._key_of(issue) == incident_key and not resolved:
                return str(issue["id"])
        return None

    async def create(self, action: TicketAction) -> str:
        existing = await self.find(action.incident_key)
        if existing is not None:
            return existing
        ids = await self._ready()
        issue: dict[str, Any] = {
            "project_id": ids.project,
            "subject": action.subject[:255],
            "description": action.text,
            "priority_id": ids.priorities[action.priority or 3],
            "custom_fields": [{"id": self.settings.key_field_id, "value": action.incident_key}],
        }
        if ids.tracker is not None:
            issue["tracker_id"] = ids.tracker
        if action.attachments:
            issue["uploads"] = [await self._upload(a) for a in action.attachments]
        reply = await self.http.call(
            "POST", "/issues.json", json={"issue": issue}, refusals=_issue_refusals()
        )
        created = dict(reply.json()["issue"])
        self._verify_created(created, action.incident_key, issue["priority_id"])
        if action.attachments:
            await self._check_files(str(created["id"]), action)
        return str(created["id"])

    async def _check_files(self, ticket: str, action: TicketAction) -> None:
        """Read the files back, as every change here (a stale token gets 422, tested).

        A missing file raises: the worker then keeps the issue (the retried create finds
        it by its key) and counts and logs the file as failed."""
        params = {"include": "attachments"}
        data = await self._get(f"/issues/{ticket}.json", params=params, refusals=_issue_refusals())
        have = {a.get("filename") for a in data["issue"].get("attachments") or ()}
        missing = [a.name for a in action.attachments if a.name not in have]
        if missing:
            raise RejectedError(
                f"redmine: issue #{ticket} was created without {', '.join(missing)}"
            )

    async def _upload(self, a: Attachment) -> dict[str, str]:
        """POST /uploads.json (raw bytes) -> the token the issue create refers to."""
        reply = await self.http.call(
            "POST",
            "/uploads.json",
            params={"filename": a.name, "content_type": a.content_type},
            content=a.data,
            headers={"Content-Type": "application/octet-stream"},
        )
        token = str(reply.json()["upload"]["token"])
        return {"token": token, "filename": a.name, "content_type": a.content_type}

    def _verify_created(self, issue: Mapping[str, Any], key: str, priority: int) -> None:
        if self._key_of(issue) != key:
            raise self.http.fail(
                "key_field_id",
                f"issue #{issue['id']} was created without the incident key: custom field"
                f" {self.settings.key_field_id} is missing or not enabled for its project/tracker"
                f" (close #{issue['id']} by hand once fixed)",
                f"custom fields of the new issue: {issue.get('custom_fields')}",
            )
        if issue["priority"]["id"] != priority:
            raise self.http.fail("priorities", "the priority was not taken", str(issue["priority"]))

    async def comment(self, ticket_id: str, action: TicketAction) -> None:
        ids = await self._ready()
        if _has_note(await self._issue(ticket_id, journals=True), ids.me, action.text):
            return  # a retry of a note that was saved
        await self._put(ticket_id, {"notes": action.text})
        if not _has_note(await self._issue(ticket_id, journals=True), ids.me, action.text):
            raise RejectedError(f"redmine: issue #{ticket_id} answered 204 but has no new note")

    async def delivered(self, ticket_id: str, action: TicketAction) -> bool:
        """After an attempt without an answer: the note (always the last step) is there."""
        ids = await self._ready()
        journals = (await self._issue(ticket_id, journals=True)).get("journals") or ()
        return any(j["user"]["id"] == ids.me and j.get("notes") == action.text for j in journals)

    async def acknowledged(self, ticket_id: str) -> bool:
        ids = await self._ready()
        issue = await self._issue(ticket_id, journals=True)
        if issue.get("assigned_to"):
            return True
        return any(
            j["user"]["id"] != ids.me and ACK_FIELDS & {d.get("name") for d in j["details"]}
            for j in issue.get("journals") or ()
        )

    async def escalate(self, ticket_id: str, action: TicketAction) -> None:
        ids = await self._ready()
        want: dict[str, int] = {}
        if action.priority is not None:
            want["priority_id"] = ids.priorities[action.priority]
        if action.queue:
            target = self.settings.queues.get(action.queue, action.queue)
            want["project_id"] = await self._project_id(target, "queues")
        await self._change(ticket_id, want)
        await self.comment(ticket_id, action)

    async def resolve(self, ticket_id: str, action: TicketAction) -> None:
        ids = await self._ready()
        if action.close:
            await self._change(ticket_id, {"status_id": ids.statuses["resolved"]})
        await self.comment(ticket_id, action)

    async def reopen(self, ticket_id: str, action: TicketAction) -> None:
        ids = await self._ready()
        want = {"status_id": ids.statuses["reopen"]}
        if action.priority is not None:
            want["priority_id"] = ids.priorities[action.priority]
        await self._change(ticket_id, want)
        await self.comment(ticket_id, action)

    async def _change(self, ticket_id: str, want: dict[str, int]) -> None:
        """Set fields that differ, then read back: Redmine answers 204 to refused changes."""
        todo = _differ(await self._issue(ticket_id), want)
        if not todo:
            return
        await self._put(ticket_id, todo)
        after = await self._issue(ticket_id)
        wrong = _differ(after, todo)
        if wrong:
            raise self._not_taken(ticket_id, after, wrong)

    def _not_taken(
        self, ticket: str, issue: Mapping[str, Any], wrong: dict[str, int]
    ) -> SettingError:
        name = next(iter(wrong))
        have = issue.get(name.removesuffix("_id"), {})
        setting = {"priority_id": "priorities", "project_id": "queues"}.get(name)
        if name == "status_id":
            reopen = self.ids is not None and wrong[name] == self.ids.statuses["reopen"]
            setting = "reopen_status" if reopen else "resolved_status"
        return self.http.fail(
            setting or name,
            f"issue #{ticket} did not take {name}={wrong[name]} (the workflow or the API user's"
            f" role does not allow it from {have.get('name', have)!r})",
            "204 No Content, value unchanged on read-back",
        )

    async def aclose(self) -> None:
        await self.http.aclose()


def _issue_refusals() -> dict[int, tuple[str, str]]:
    return {404: ("project", "the issue or its project is gone or not visible to the API user")}


def _differ(issue: Mapping[str, Any], want: Mapping[str, int]) -> dict[str, int]:
    """The wanted ``*_id`` fields whose value the issue does not have."""
    out = {}
    for name, value in want.items():
        ref = issue.get(name.removesuffix("_id")) or {}
        if ref.get("id") != value:
            out[name] = value
    return out


def _has_note(issue: Mapping[str, Any], me: int, text: str) -> bool:
    journals = [j for j in issue.get("journals") or () if j.get("notes")]
    return bool(journals) and journals[-1]["user"]["id"] == me and journals[-1]["notes"] == text


def redmine_settings(options: Options, ctx: AdapterContext) -> RedmineSettings:
    key, setting = secret_of(options, "api_key", ctx)
    auth = Auth("header", key, header="X-Redmine-API-Key", secret_setting=setting)
    extra: dict[str, Any] = strings(options, ("resolved_status", "reopen_status", "tracker"))
    if "priorities" in options:
        extra["priorities"] = int_map(options, "priorities", "redmine")
    conn, project = connection(options, ctx, "redmine", auth), need(options, "project", "redmine")
    try:
        settings = RedmineSettings(
            conn=conn,
            project=project,
            key_field_id=int(options["key_field_id"]),
            queues=queues(options),
            **extra,
        )
    except KeyError:
        raise AdapterConfigError(
            "the redmine backend needs `key_field_id` (the custom field's id)"
        ) from None
    except (TypeError, ValueError) as exc:
        raise AdapterConfigError(f"redmine: {exc}") from None
    return settings


DESK = Desk(
    "redmine",
    options=HTTP_OPTIONS
    | {"project", "key_field_id", "resolved_status", "reopen_status", "tracker"},
    settings=redmine_settings,
    build=lambda settings, ctx: RedmineAdapter(settings),
    takes_attachments=RedmineAdapter.takes_attachments,
)
