"""Request Tracker 5 over REST2 (https://docs.bestpractical.com/rt/5.0.3/RT/REST2.html).

The incident key goes into a ticket custom field; ``create`` searches for an
active ticket carrying it first, so a retry after a crash finds the ticket the
lost attempt created. RT often refuses with HTTP 200 and a message list, and
silently ignores unknown values, so every change is read back and compared.
Updates are comments (a correspondence would mail the requestor and reopen).
A create's attachments (the trend plot) go in the create request itself.
State changes go before the comment: a retry repeats only idempotent steps
until the comment, which is the last call.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

import httpx
from gatewatch.core.events import Attachment
from gatewatch.ticketing_client.actions import TicketAction
from gatewatch.ticketing_client.adapters.base import send
from gatewatch.ticketing_client.adapters.desk_http import SettingError
from gatewatch.ticketing_client.adapters.options import (
    AdapterConfigError,
    AdapterContext,
    Desk,
    Options,
    need,
    secret,
    secret_names,
)
from gatewatch.ticketing_client.errors import RejectedError

DEFAULT_PRIORITIES: Mapping[int, int] = MappingProxyType({1: 100, 2: 75, 3: 50, 4: 25})
ACTIVE = "__Active__"


@dataclass(frozen=True, slots=True)
class RTSettings:
    url: str  # the RT base URL, e.g. https://rt.example.org (REST2 lives under /REST/2.0)
    token: str  # an RT auth token of the API user
    queue: str = "General"
    key_field: str = "IncidentKey"  # ticket custom field holding the incident key
    priorities: Mapping[int, int] = field(default_factory=lambda: DEFAULT_PRIORITIES)
    timeout: float = 10.0  # per request, once it is sent
    max_connections: int = 4  # requests in flight; more would queue inside RT and time out
    token_setting: str = "token_env"  # noqa: S105  (a setting name) where the token came from, named in errors

    def __post_init__(self) -> None:
        missing = [p for p in (1, 2, 3, 4) if p not in self.priorities]
        if missing:
            raise ValueError(f"RT priority map misses P{missing[0]}; map all of P1..P4")


def ticketsql_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class RequestTrackerAdapter:
    name = "rt"
    takes_attachments = True

    def __init__(
        self, settings: RTSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.client = httpx.AsyncClient(
            base_url=settings.url.rstrip("/") + "/REST/2.0",
            headers={"Authorization": f"token {settings.token}"},
            # waiting for a free connection is not the desk being slow: no pool timeout
            timeout=httpx.Timeout(settings.timeout, pool=None),
            limits=httpx.Limits(max_connections=settings.max_connections),
            transport=transport,
        )
        self._queue_ids: dict[str, str] = {}
        self._checked = False  # queue and key field seen in RT (once, before the first create)
        self.errors: Counter[str] = Counter()  # refusals that need a config change, by setting

    def _fail(self, setting: str, problem: str, desk_says: str) -> SettingError:
        self.errors[setting] += 1
        return SettingError("rt", setting, problem, desk_says)

    async def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        request: httpx.Request = self.client.build_request(method, path, **kw)
        try:
            response: httpx.Response = await send(self.client, request)
        except RejectedError as exc:
            if exc.status == 401:
                problem = "the auth token was refused (revoked, mistyped or of a disabled user)"
                raise self._fail(self.settings.token_setting, problem, exc.reason) from None
            raise
        return response

    async def _check_settings(self) -> None:
        """Before the first create: the queue exists and carries the incident-key field.

        RT would otherwise refuse with a bare 403, or (worse) create the ticket
        and silently drop an unknown custom field, losing the key that makes
        creates idempotent."""
        if self._checked:
            return
        queue = self.settings.queue
        try:
            reply = await self._call("GET", f"/queue/{quote(queue, safe='')}")
        except SettingError:
            raise
        except RejectedError as exc:  # 404 (no such queue) or 403 (no SeeQueue)
            problem = f"RT has no queue {queue!r} that the API user may see"
            raise self._fail("queue", problem, str(exc)) from None
        fields = [str(cf.get("name", "")) for cf in reply.json().get("TicketCustomFields") or []]
        if self.settings.key_field.casefold() not in (f.casefold() for f in fields):
            problem = (
                f"the ticket custom field {self.settings.key_field!r} is not applied to queue"
                f" {queue!r} (or the API user lacks SeeCustomField on it)"
            )
            raise self._fail("key_field", problem, f"queue {queue!r} has custom fields {fields}")
        self._checked = True

    async def _ticket(self, ticket_id: str) -> dict[str, Any]:
        data = (await self._call("GET", f"/ticket/{ticket_id}")).json()
        if not isinstance(data, dict):
            raise RejectedError(f"RT returned no ticket {ticket_id}")
        return data

    async def find(self, incident_key: str, *, active: bool = True) -> str | None:
        field_ = f"'CF.{{{self.settings.key_field}}}'"
        query = f"{field_} = {ticketsql_quote(incident_key)}"
        if active:
            query += f" AND Status = '{ACTIVE}'"
        order = "ASC" if active else "DESC"  # the open one first; else the latest
        params = {"query": query, "fields": "Status", "orderby": "id", "order": order}
        items = (await self._call("GET", "/tickets", params=params)).json().get("items") or []
        return str(items[0]["id"]) if items else None

    async def _link_related(self, ticket_id: str, action: TicketAction) -> None:
        """Repetition: RefersTo links to the occurrences' tickets (idempotent in RT)."""
        targets = []
        for key in action.related:
            other = await self.find(key, active=False)
            if other is not None and other != ticket_id:
                targets.append(other)
        if targets:
            await self._call("PUT", f"/ticket/{ticket_id}", json={"AddRefersTo": targets})

    async def create(self, action: TicketAction) -> str:
        ticket = await self._create(action)
        await self._link_related(ticket, action)
        return ticket

    async def _create(self, action: TicketAction) -> str:
        await self._check_settings()
        existing = await self.find(action.incident_key)
        if existing is not None:
            return existing
        body = {
            "Queue": self.settings.queue,
            "Subject": action.subject,
            "Priority": self.settings.priorities[action.priority or 3],
            "Content": action.text,
            "ContentType": "text/plain",
            "CustomFields": {self.settings.key_field: action.incident_key},
        }
        if action.attachments:  # one transaction in RT: the ticket comes with its files
            body["Attachments"] = [_rt_file(a) for a in action.attachments]
        created = str((await self._call("POST", "/ticket", json=body)).json()["id"])
        if action.attachments:
            await self._check_files(created, action)
        return created

    async def _check_files(self, ticket_id: str, action: TicketAction) -> None:
        """RT answers 201 even when it dropped a file (``$DropLongAttachments``): read back.

        A missing file raises: the worker then keeps the ticket (the retried create
        finds it by its key) and counts and logs the file as failed."""
        params = {"fields": "Filename", "per_page": "100"}
        reply = await self._call("GET", f"/ticket/{ticket_id}/attachments", params=params)
        have = {item.get("Filename") for item in reply.json().get("items") or ()}
        missing = [a.name for a in action.attachments if a.name not in have]
        if missing:
            raise RejectedError(
                f"RT ticket {ticket_id} was created without {', '.join(missing)}"
                " (RT's $MaxAttachmentSize with $DropLongAttachments?)"
            )

    async def comment(self, ticket_id: str, action: TicketAction) -> None:
        text = f"{action.text}\n\n{marker(action)}"
        body = {"Content": text, "ContentType": "text/plain"}
        await self._call("POST", f"/ticket/{ticket_id}/comment", json=body)

    async def delivered(self, ticket_id: str, action: TicketAction) -> bool:
        """Look for the action's marker among the ticket's messages (crash recovery only)."""
        wanted, page = marker(action), 1
        while True:
            params = {"fields": "Content", "per_page": "100", "page": str(page)}
            reply = await self._call("GET", f"/ticket/{ticket_id}/attachments", params=params)
            items = reply.json().get("items") or []
            if any(wanted in str(item.get("Content", "")) for item in items):
                return True
            if len(items) < 100:
                return False
            page += 1

    async def acknowledged(self, ticket_id: str) -> bool:
        ticket = await self._ticket(ticket_id)
        if _ref(ticket.get("Owner")) not in ("Nobody", ""):
            return True
        if ticket.get("Status") == "new":
            return False
        return await self._status_moved_by_person(ticket_id, _ref(ticket.get("Creator")))

    async def _status_moved_by_person(self, ticket_id: str, api_user: str) -> bool:
        params = {"fields": "Type,Creator", "per_page": "100"}
        history = await self._call("GET", f"/ticket/{ticket_id}/history", params=params)
        for tx in history.json().get("items") or []:
            if tx.get("Type") == "Status" and _ref(tx.get("Creator")) != api_user:
                return True
        return False

    async def escalate(self, ticket_id: str, action: TicketAction) -> None:
        await self._update(ticket_id, action.priority, action.queue, None)
        await self._link_related(ticket_id, action)
        await self.comment(ticket_id, action)

    async def resolve(self, ticket_id: str, action: TicketAction) -> None:
        await self._update(ticket_id, None, None, "resolved" if action.close else None)
        await self.comment(ticket_id, action)

    async def reopen(self, ticket_id: str, action: TicketAction) -> None:
        await self._update(ticket_id, action.priority, None, "open")
        await self.comment(ticket_id, action)

    async def _update(
        self, ticket_id: str, priority: int | None, queue: str | None, status: str | None
    ) -> None:
        want: dict[str, Any] = {}
        if priority is not None:
            want["Priority"] = self.settings.priorities[priority]
        if queue:
            want["Queue"] = await self._queue_id(queue)
        if status:
            want["Status"] = status
        if not want:
            return
        reply = (await self._call("PUT", f"/ticket/{ticket_id}", json=want)).json()
        await self._verify(ticket_id, want, reply)

    async def _verify(self, ticket_id: str, want: dict[str, Any], reply: object) -> None:
        ticket = await self._ticket(ticket_id)
        have = {
            "Priority": str(ticket.get("Priority")),
            "Queue": _ref(ticket.get("Queue")),
            "Status": ticket.get("Status"),
        }
        wrong = [k for k, v in want.items() if have[k] != str(v)]
        if wrong:
            raise RejectedError(f"RT ticket {ticket_id} did not take {wrong}: {reply}")

    async def _queue_id(self, name: str) -> str:
        if name not in self._queue_ids:
            queue = (await self._call("GET", f"/queue/{quote(name, safe='')}")).json()
            self._queue_ids[name] = str(queue["id"])
        return self._queue_ids[name]

    async def aclose(self) -> None:
        await self.client.aclose()


def _rt_file(a: Attachment) -> dict[str, str]:
    """REST2's attachment form (RT::REST2::Resource::Ticket create_record, RT 5.0.3)."""
    content = base64.b64encode(a.data).decode("ascii")
    return {"FileName": a.name, "FileType": a.content_type, "FileContent": content}


def marker(action: TicketAction) -> str:
    return f"[gatewatch action {action.delivery_id}]"


def _ref(value: object) -> str:
    if isinstance(value, dict):
        return str(value.get("id", ""))
    return "" if value is None else str(value)


def rt_settings(options: Options, ctx: AdapterContext) -> RTSettings:
    priorities = options.get("priorities")
    extra = {}
    if priorities is not None:
        extra["priorities"] = {int(k): int(v) for k, v in priorities.items()}
    try:
        settings = RTSettings(
            url=need(options, "url", "rt"),
            token=secret(options, "token", ctx),
            token_setting="token_env" if "token_env" in options else "token_file",
            queue=str(options.get("queue", "General")),
            key_field=str(options.get("key_field", "IncidentKey")),
            timeout=float(options.get("timeout", 10.0)),
            max_connections=int(options.get("max_connections", 4)),
            **extra,
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise AdapterConfigError(str(exc)) from None
    return settings


DESK = Desk(
    "rt",
    options=frozenset(("url", "queue", "key_field", "priorities", "timeout", "max_connections"))
    | secret_names("token"),
    settings=rt_settings,
    build=lambda settings, ctx: RequestTrackerAdapter(settings),
    takes_attachments=RequestTrackerAdapter.takes_attachments,
)
