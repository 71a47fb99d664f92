"""ServiceNow incidents over the REST Table API (/api/now/table/incident).

The incident key is stored in ``correlation_id`` (configurable: ``key_field``);
``create`` queries for an incident with that key that is not resolved, closed or
canceled first. Priority is not written directly: ServiceNow computes it from
impact x urgency, so P1..P4 map to (impact, urgency) pairs and the computed
priority is read back. Updates are work notes (internal). The Table API ignores
unknown fields in bodies and drops unknown fields from queries (returning every
record), so the key field is checked before the first create and every answer
is compared with what was asked. A work note is skipped when the incident's
last work note is the same text, so a retried action never posts twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from gatewatch.ticketing_client.actions import TicketAction
from gatewatch.ticketing_client.adapters.desk_http import Connection, DeskClient, SettingError
from gatewatch.ticketing_client.adapters.options import (
    HTTP_OPTIONS,
    AdapterConfigError,
    AdapterContext,
    Desk,
    Options,
    auth_from,
    connection,
    queues,
    strings,
)
from gatewatch.ticketing_client.errors import RejectedError

# P-level -> (impact, urgency); the baseline lookup computes priority 1, 2, 3, 4 from these
DEFAULT_PRIORITIES: Mapping[int, tuple[int, int]] = MappingProxyType(
    {1: (1, 1), 2: (1, 2), 3: (2, 2), 4: (2, 3)}
)
INCIDENT = "/api/now/table/incident"
DONE_STATES = "6,7,8"  # resolved, closed, canceled
MAX_PAGES = 20


@dataclass(frozen=True, slots=True)
class ServiceNowSettings:
    conn: Connection  # https://<instance>.service-now.com; basic or OAuth bearer
    assignment_group: str = ""  # group name for new incidents; "" = assignment rules decide
    key_field: str = "correlation_id"
    correlation_display: str = "gatewatch"
    priorities: Mapping[int, tuple[int, int]] = field(default_factory=lambda: DEFAULT_PRIORITIES)
    resolved_state: str = "6"
    reopen_state: str = "2"  # In Progress
    close_code: str = "Solution provided"
    queues: Mapping[str, str] = field(default_factory=dict)  # queue -> group name

    def __post_init__(self) -> None:
        missing = [p for p in (1, 2, 3, 4) if p not in self.priorities]
        if missing:
            raise ValueError(f"servicenow priorities misses P{missing[0]}; map all of P1..P4")

    @property
    def timeout(self) -> float:
        return float(self.conn.timeout)


class ServiceNowAdapter:
    name = "servicenow"
    takes_attachments = False

    def __init__(self, settings: ServiceNowSettings, *, transport: Any = None) -> None:
        self.settings = settings
        self.http = DeskClient("servicenow", settings.conn, transport)
        self.errors = self.http.errors
        self._groups: dict[str, str] = {}
        self._ready = False

    async def _rows(self, path: str, query: str, fields: str, limit: int = 100) -> list[Any]:
        """Every row of a query, following the Link rel="next" pages."""
        params = {"sysparm_query": query, "sysparm_fields": fields, "sysparm_limit": str(limit)}
        response = await self.http.call("GET", path, params=params)
        rows: list[Any] = []
        for _ in range(MAX_PAGES):
            rows += response.json()["result"]
            following = response.links.get("next", {}).get("url")
            if not following:
                return rows
            response = await self.http.call("GET", following)
        raise RejectedError(f"servicenow: {path} has more than {MAX_PAGES} pages")

    async def _check(self) -> None:
        if self._ready:
            return
        key = self.settings.key_field
        probe = f"gatewatch-probe-{secrets.token_hex(8)}"
        params = {
            "sysparm_query": f"{key}={probe}",
            "sysparm_limit": "1",
            "sysparm_fields": "sys_id",
        }
        response = await self.http.call("GET", INCIDENT, params=params)
        total = response.headers.get("X-Total-Count", str(len(response.json()["result"])))
        if int(total) > 0:
            raise self.http.fail(
                "key_field",
                f"incident field {key!r} cannot be queried (unknown or not readable)",
                f"a query on {key} = a value no incident has answered X-Total-Count={total}",
            )
        if self.settings.assignment_group:
            await self._group(self.settings.assignment_group, "assignment_group")
        self._ready = True

    async def _group(self, name: str, setting: str) -> str:
        if name not in self._groups:
            rows = await self._rows(
                "/api/now/table/sys_user_group", f"name={_q(name)}", "sys_id,name"
            )
            if not rows:
                raise self.http.fail(
                    setting, f"ServiceNow has no group {name!r}", "0 rows in sys_user_group"
                )
            self._groups[name] = str(rows[0]["sys_id"])
        return self._groups[name]

    async def find(self, incident_key: str) -> str | None:
        await self._check()
        key = self.settings.key_field
        query = f"{key}={_q(incident_key)}^stateNOT IN{DONE_STATES}^ORDERBYsys_created_on"
        for row in await self._rows(INCIDENT, query, f"sys_id,state,{key}"):
            if row.get(key) == incident_key:
                return str(row["sys_id"])
        return None

    def _impact_urgency(self, priority: int) -> dict[str, str]:
        impact, urgency = self.settings.priorities[priority]
        return {"impact": str(impact), "urgency": str(urgency)}

    async def create(self, action: TicketAction) -> str:
        existing = await self.find(action.incident_key)
        if existing is not None:
            return existing
        s = self.settings
        body = {
            "short_description": action.subject[:160],
            "description": action.text,
            s.key_field: action.incident_key,
            "correlation_display": s.correlation_display,
            **self._impact_urgency(action.priority or 3),
        }
        if s.assignment_group:
            body["assignment_group"] = await self._group(s.assignment_group, "assignment_group")
        record = await self._send("POST", INCIDENT, body, {})
        if record.get(s.key_field) != action.incident_key:
            raise self.http.fail(
                "key_field",
                f"incident {record.get('number')} was created without the incident key: field"
                f" {s.key_field!r} does not exist on incident (close it by hand once fixed)",
                f"{s.key_field}={record.get(s.key_field)!r} in the created record",
            )
        self._verify(record, {}, action.priority or 3)
        return str(record["sys_id"])

    async def _send(
        self,
        method: str,
        path: str,
        body: Mapping[str, str],
        refusals: Mapping[int, tuple[str, str]],
    ) -> dict[str, Any]:
        reply = await self.http.call(method, path, json=dict(body), refusals=refusals)
        result = reply.json().get("result")
        if not isinstance(result, dict):
            raise RejectedError(
                f"servicenow: {method} {path} answered no record: {reply.text[:300]}"
            )
        return result

    def _verify(
        self, record: Mapping[str, Any], want: Mapping[str, str], priority: int | None
    ) -> None:
        have = {k: _value(record.get(k)) for k in want}
        wrong = {k: v for k, v in want.items() if have[k] != v}
        if priority is not None and record.get("priority") != str(priority):
            raise self.http.fail(
                "priorities",
                f"impact/urgency {self.settings.priorities[priority]} gave priority"
                f" {record.get('priority')}, not {priority} (the instance's lookup differs)",
                f"priority={record.get('priority')}",
            )
        if wrong:
            raise self._not_taken(record, wrong, have)

    def _not_taken(
        self, record: Mapping[str, Any], wrong: dict[str, str], have: dict[str, str]
    ) -> SettingError:
        name = next(iter(wrong))
        setting = {"assignment_group": "queues", "state": "resolved_state"}.get(name, name)
        if name == "state" and wrong[name] == self.settings.reopen_state:
            setting = "reopen_state"
        return self.http.fail(
            setting,
            f"incident {record.get('number')} did not take {name}={wrong[name]!r}",
            f"{name} is {have[name]!r} after the update",
        )

    async def _update(
        self,
        sys_id: str,
        action: TicketAction,
        fields: dict[str, str],
        priority: int | None,
        refusals: Mapping[int, tuple[str, str]] | None = None,
    ) -> None:
        body = dict(fields)
        if not await self._has_note(sys_id, action.text):
            body["work_notes"] = action.text
        if priority is not None:
            body.update(self._impact_urgency(priority))
        if not body:
            return
        gone = {404: ("url", f"incident {sys_id} is gone or not readable by the API user")}
        record = await self._send(
            "PATCH", f"{INCIDENT}/{sys_id}", body, {**gone, **(refusals or {})}
        )
        self._verify(record, {k: v for k, v in fields.items() if k != "close_notes"}, priority)

    async def _has_note(self, sys_id: str, text: str) -> bool:
        query = f"element_id={sys_id}^element=work_notes^ORDERBYDESCsys_created_on"
        params = {"sysparm_query": query, "sysparm_limit": "1", "sysparm_fields": "value"}
        rows = (
            await self.http.call("GET", "/api/now/table/sys_journal_field", params=params)
        ).json()
        last = rows["result"]
        return bool(last) and last[0].get("value") == text

    async def comment(self, ticket_id: str, action: TicketAction) -> None:
        await self._update(ticket_id, action, {}, None)

    async def delivered(self, ticket_id: str, action: TicketAction) -> bool:
        """After an attempt without an answer: the work note (sent with any change) is there."""
        query = f"element_id={ticket_id}^element=work_notes"
        notes = await self._rows("/api/now/table/sys_journal_field", query, "value")
        return any(n.get("value") == action.text for n in notes)

    async def acknowledged(self, ticket_id: str) -> bool:
        reply = await self.http.call("GET", f"{INCIDENT}/{ticket_id}")
        record = reply.json()["result"]
        return bool(_value(record.get("assigned_to")))

    async def escalate(self, ticket_id: str, action: TicketAction) -> None:
        fields: dict[str, str] = {}
        if action.queue:
            group = self.settings.queues.get(action.queue, action.queue)
            fields["assignment_group"] = await self._group(group, "queues")
        await self._update(ticket_id, action, fields, action.priority)

    async def resolve(self, ticket_id: str, action: TicketAction) -> None:
        fields: dict[str, str] = {}
        if action.close:
            s = self.settings
            fields = {
                "state": s.resolved_state,
                "close_code": s.close_code,
                "close_notes": action.text,
            }
        refusals = {403: ("close_code", "ServiceNow refused to resolve the incident")}
        await self._update(ticket_id, action, fields, None, refusals)

    async def reopen(self, ticket_id: str, action: TicketAction) -> None:
        refusals = {
            403: (
                "reopen_state",
                "ServiceNow refused to reopen the incident (closed incidents are read-only)",
            )
        }
        await self._update(
            ticket_id, action, {"state": self.settings.reopen_state}, action.priority, refusals
        )

    async def aclose(self) -> None:
        await self.http.aclose()


def _q(value: str) -> str:
    """A value inside an encoded query: ``^`` separates terms, so it is doubled."""
    return value.replace("^", "^^")


def _value(ref: object) -> str:
    if isinstance(ref, dict):
        return str(ref.get("value", ""))
    return "" if ref is None else str(ref)


TEXT_SETTINGS = ("assignment_group", "key_field", "correlation_display", "resolved_state",
                 "reopen_state", "close_code")  # fmt: skip


def servicenow_settings(options: Options, ctx: AdapterContext) -> ServiceNowSettings:
    """``auth: basic`` (default: ``user`` + ``password_env``) or ``bearer`` (``token_env``)."""
    auth = auth_from(options, ctx, "servicenow", "basic")
    extra: dict[str, Any] = strings(options, TEXT_SETTINGS)
    raw = options.get("priorities")
    if raw is not None:
        if not isinstance(raw, Mapping):
            raise AdapterConfigError("servicenow: `priorities` maps 1..4 to [impact, urgency]")
        extra["priorities"] = {int(k): (int(v[0]), int(v[1])) for k, v in raw.items()}
    conn = connection(options, ctx, "servicenow", auth)
    try:
        settings = ServiceNowSettings(conn=conn, queues=queues(options), **extra)
    except (TypeError, ValueError, IndexError) as exc:
        raise AdapterConfigError(f"servicenow: {exc}") from None
    return settings


DESK = Desk(
    "servicenow",
    options=HTTP_OPTIONS | set(TEXT_SETTINGS),
    settings=servicenow_settings,
    build=lambda settings, ctx: ServiceNowAdapter(settings),
    takes_attachments=ServiceNowAdapter.takes_attachments,
)
