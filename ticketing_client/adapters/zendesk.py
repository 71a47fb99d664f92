"""Zendesk Support over the Ticketing API v2 (developer.zendesk.com/api-reference/ticketing).

The incident key is the ticket's ``external_id``; ``create`` lists the tickets with
that external id first and reuses an unsolved one. Updates are internal notes
(``public: false``), so requesters are never mailed; priority, group and status
travel in the same update as the note (one audit), and the note is skipped when
the ticket's last comment is already the same note by the API user, so a retry
never posts twice. The answer's ticket is checked against what was asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from gatewatch.ticketing_client.actions import TicketAction
from gatewatch.ticketing_client.adapters.desk_http import Auth, Connection, DeskClient
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
    secret_of,
)
from gatewatch.ticketing_client.errors import RejectedError

DEFAULT_PRIORITIES: Mapping[int, str] = MappingProxyType(
    {1: "urgent", 2: "high", 3: "normal", 4: "low"}
)
DONE = frozenset({"solved", "closed"})
MAX_PAGES = 20


@dataclass(frozen=True, slots=True)
class ZendeskSettings:
    conn: Connection  # https://<subdomain>.zendesk.com; basic (email/token) or bearer
    group: str = ""  # group name for new tickets; "" = Zendesk's default routing
    priorities: Mapping[int, str] = field(default_factory=lambda: DEFAULT_PRIORITIES)
    ticket_type: str = "incident"
    queues: Mapping[str, str] = field(default_factory=dict)  # queue -> group name

    def __post_init__(self) -> None:
        bad = [p for p in (1, 2, 3, 4) if self.priorities.get(p) not in DEFAULT_PRIORITIES.values()]
        if bad:
            raise ValueError(f"zendesk priorities: map P{bad[0]} to urgent, high, normal or low")

    @property
    def timeout(self) -> float:
        return float(self.conn.timeout)


class ZendeskAdapter:
    name = "zendesk"
    takes_attachments = False

    def __init__(self, settings: ZendeskSettings, *, transport: Any = None) -> None:
        self.settings = settings
        self.http = DeskClient("zendesk", settings.conn, transport)
        self.errors = self.http.errors
        self._me: int | None = None
        self._groups: dict[str, int] | None = None

    async def _get(self, path: str, **kw: Any) -> dict[str, Any]:
        data = (await self.http.call("GET", path, **kw)).json()
        if not isinstance(data, dict):
            raise RejectedError(f"zendesk: {path} answered {type(data).__name__}, not an object")
        return data

    async def _pages(self, path: str, key: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """Every item of an offset-paginated list, following ``next_page``."""
        items: list[dict[str, Any]] = []
        page = await self._get(path, params={**params, "per_page": "100"})
        for _ in range(MAX_PAGES):
            items += page[key]
            if not page.get("next_page"):
                return items
            page = await self._get(str(page["next_page"]))
        raise RejectedError(f"zendesk: {path} has more than {MAX_PAGES} pages")

    async def _ready(self) -> int:
        if self._me is None:
            me = (await self._get("/api/v2/users/me.json"))["user"]
            if me.get("id") is None:  # no credentials: Zendesk answers as the anonymous user
                raise self.http.fail(
                    self.settings.conn.auth.secret_setting,
                    "the credentials were not accepted (Zendesk answered as the anonymous user)",
                    str(me.get("name")),
                )
            self._me = int(me["id"])
        return self._me

    async def _group_id(self, name: str, setting: str) -> int:
        if self._groups is None:
            groups = await self._pages("/api/v2/groups.json", "groups", {})
            self._groups = {g["name"]: int(g["id"]) for g in groups}
        if name not in self._groups:
            known = ", ".join(sorted(self._groups))
            raise self.http.fail(setting, f"Zendesk has no group {name!r}", f"groups: {known}")
        return self._groups[name]

    async def find(self, incident_key: str) -> str | None:
        await self._ready()
        params = {"external_id": incident_key}
        for ticket in await self._pages("/api/v2/tickets.json", "tickets", params):
            if ticket.get("external_id") == incident_key and ticket["status"] not in DONE:
                return str(ticket["id"])
        return None

    async def create(self, action: TicketAction) -> str:
        existing = await self.find(action.incident_key)
        if existing is not None:
            return existing
        ticket: dict[str, Any] = {
            "subject": action.subject,
            "comment": {"body": action.text, "public": False},
            "priority": self.settings.priorities[action.priority or 3],
            "external_id": action.incident_key,
            "type": self.settings.ticket_type,
        }
        if self.settings.group:
            ticket["group_id"] = await self._group_id(self.settings.group, "group")
        reply = await self.http.call("POST", "/api/v2/tickets.json", json={"ticket": ticket})
        created = dict(reply.json()["ticket"])
        self._verify(created, {k: ticket[k] for k in ("priority", "external_id")})
        return str(created["id"])

    def _verify(self, ticket: Mapping[str, Any], want: Mapping[str, Any]) -> None:
        wrong = {k: v for k, v in want.items() if ticket.get(k) != v}
        if wrong:
            raise RejectedError(
                f"zendesk: ticket {ticket.get('id')} did not take {sorted(wrong)}:"
                f" asked {wrong}, has { {k: ticket.get(k) for k in wrong} }"
            )

    async def _update(self, ticket_id: str, action: TicketAction, fields: dict[str, Any]) -> None:
        """One update carrying the fields and the internal note (the note once only)."""
        me = await self._ready()
        body = dict(fields)
        if not await self._has_note(ticket_id, me, action.text):
            body["comment"] = {"body": action.text, "public": False}
        if not body:
            return
        refusals = {404: ("url", f"ticket {ticket_id} does not exist (deleted in Zendesk?)")}
        reply = await self.http.call(
            "PUT", f"/api/v2/tickets/{ticket_id}.json", json={"ticket": body}, refusals=refusals
        )
        self._verify(reply.json()["ticket"], fields)

    async def _has_note(self, ticket_id: str, me: int, text: str) -> bool:
        params = {"sort_order": "desc", "per_page": "1"}
        last = (await self._get(f"/api/v2/tickets/{ticket_id}/comments.json", params=params))[
            "comments"
        ]
        return bool(last) and last[0].get("author_id") == me and last[0].get("body") == text

    async def comment(self, ticket_id: str, action: TicketAction) -> None:
        await self._update(ticket_id, action, {})

    async def delivered(self, ticket_id: str, action: TicketAction) -> bool:
        """After an attempt without an answer: the note (sent with any change) is there."""
        me = await self._ready()
        path = f"/api/v2/tickets/{ticket_id}/comments.json"
        comments = await self._pages(path, "comments", {})
        return any(c.get("author_id") == me and c.get("body") == action.text for c in comments)

    async def acknowledged(self, ticket_id: str) -> bool:
        ticket = (await self._get(f"/api/v2/tickets/{ticket_id}.json"))["ticket"]
        return ticket.get("assignee_id") is not None

    async def escalate(self, ticket_id: str, action: TicketAction) -> None:
        fields: dict[str, Any] = {}
        if action.priority is not None:
            fields["priority"] = self.settings.priorities[action.priority]
        if action.queue:
            group = self.settings.queues.get(action.queue, action.queue)
            fields["group_id"] = await self._group_id(group, "queues")
        await self._update(ticket_id, action, fields)

    async def resolve(self, ticket_id: str, action: TicketAction) -> None:
        await self._update(ticket_id, action, {"status": "solved"} if action.close else {})

    async def reopen(self, ticket_id: str, action: TicketAction) -> None:
        fields: dict[str, Any] = {"status": "open"}
        if action.priority is not None:
            fields["priority"] = self.settings.priorities[action.priority]
        await self._update(ticket_id, action, fields)

    async def aclose(self) -> None:
        await self.http.aclose()


def zendesk_settings(options: Options, ctx: AdapterContext) -> ZendeskSettings:
    """``auth: token`` (default; ``email`` + ``token_env``) or ``bearer`` (OAuth ``token_env``)."""
    if options.get("auth", "token") == "token":
        token, setting = secret_of(options, "token", ctx)
        user = need(options, "email", "zendesk") + "/token"
        auth = Auth("basic", token, user=user, secret_setting=setting)
    else:
        auth = auth_from(options, ctx, "zendesk", "bearer")
    extra: dict[str, Any] = {}
    if "priorities" in options:
        extra["priorities"] = int_map(options, "priorities", "zendesk")
    conn = connection(options, ctx, "zendesk", auth)
    try:
        settings = ZendeskSettings(
            conn=conn,
            group=str(options.get("group", "")),
            ticket_type=str(options.get("ticket_type", "incident")),
            queues=queues(options),
            **extra,
        )
    except (TypeError, ValueError) as exc:
        raise AdapterConfigError(str(exc)) from None
    return settings


DESK = Desk(
    "zendesk",
    options=HTTP_OPTIONS | {"email", "group", "ticket_type"},
    settings=zendesk_settings,
    build=lambda settings, ctx: ZendeskAdapter(settings),
    takes_attachments=ZendeskAdapter.takes_attachments,
)
