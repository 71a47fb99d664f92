"""A fake Zendesk Support (Ticketing API v2), mirroring the documented endpoints it serves.

Mirrors (developer.zendesk.com/api-reference/ticketing/...):
- GET  /api/v2/users/me.json              Show Self (anonymous user when no credentials)
- GET  /api/v2/tickets.json?external_id=  List Tickets filtered by external id (offset pages)
- POST /api/v2/tickets.json               Create Ticket: {"ticket": {...}} -> 201 ticket + audit
- GET  /api/v2/tickets/{id}.json          Show Ticket
- PUT  /api/v2/tickets/{id}.json          Update Ticket: comment {"body", "public"}, status, ...
- GET  /api/v2/tickets/{id}/comments.json List Comments (sort_order, offset pages)
- GET  /api/v2/groups.json                List Groups (offset pages)
Auth: Basic ``{email}/token:{api_token}`` or ``Bearer {oauth_token}``; wrong -> 401
``{"error": "Couldn't authenticate you"}``. Validation errors: 422 ``RecordInvalid`` with
``details``; unknown ids: 404 ``RecordNotFound``; closed tickets cannot be updated (422);
rate limits: 429 with ``Retry-After`` (seconds) and a plain-text body.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from http_fake import JsonError, Request, Response, basic_user, bearer

PRIORITIES = ("urgent", "high", "normal", "low")
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
RATE_LIMITED = Response(
    429,
    "Rate limit for ticket updates exceeded, please wait before updating this ticket again",
    {"Retry-After": "1"},
)


def invalid(field_: str, description: str, error: str = "InvalidValue") -> JsonError:
    detail = {field_: [{"description": description, "error": error}]}
    body = {"error": "RecordInvalid", "description": "Record validation errors", "details": detail}
    return JsonError(422, body)


NOT_FOUND = JsonError(404, {"error": "RecordNotFound", "description": "Not found"})


@dataclass
class ZendeskFake:
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)  # email -> user
    api_tokens: dict[str, str] = field(default_factory=dict)  # email -> token
    oauth_tokens: dict[str, str] = field(default_factory=dict)  # token -> email
    groups: dict[int, str] = field(default_factory=dict)
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    page_size: int = 100  # the documented default per_page; tests make it small
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add_agent(self, email: str, token: str) -> int:
        uid = 9000 + len(self.agents)
        self.agents[email] = {"id": uid, "email": email, "role": "agent", "name": email}
        self.api_tokens[email] = token
        return uid

    # -- routing ---------------------------------------------------------------------------

    def __call__(self, req: Request) -> Response:
        if req.path == "/api/v2/users/me.json":
            return self._me(req)
        me = self._auth(req)
        routes = (
            ("GET", r"/api/v2/tickets\.json", self._list),
            ("POST", r"/api/v2/tickets\.json", self._create),
            ("GET", r"/api/v2/tickets/(\d+)\.json", self._show),
            ("PUT", r"/api/v2/tickets/(\d+)\.json", self._update),
            ("GET", r"/api/v2/tickets/(\d+)/comments\.json", self._comments),
            ("GET", r"/api/v2/groups\.json", self._groups),
        )
        for method, pattern, handler in routes:
            match = re.fullmatch(pattern, req.path)
            if match and req.method == method:
                return handler(req, me, *match.groups())  # type: ignore[operator]
        raise JsonError(404, {"error": "InvalidEndpoint", "description": "Not found"})

    def _user(self, req: Request) -> dict[str, Any] | None:
        pair = basic_user(req)
        if pair is not None:
            email, _, token = pair[0].partition("/token")
            if pair[0].endswith("/token") and self.api_tokens.get(email) == pair[1]:
                return self.agents[email]
            raise JsonError(401, {"error": "Couldn't authenticate you"})
        token = bearer(req)
        if token is not None:
            if token in self.oauth_tokens:
                return self.agents[self.oauth_tokens[token]]
            raise JsonError(401, {"error": "Couldn't authenticate you"})
        return None

    def _auth(self, req: Request) -> dict[str, Any]:
        user = self._user(req)
        if user is None:
            raise JsonError(401, {"error": "Couldn't authenticate you"})
        return user

    def _me(self, req: Request) -> Response:
        user = self._user(req)
        anonymous = {"id": None, "name": "Anonymous user", "role": "end-user"}
        return Response(200, {"user": user or anonymous})

    def _page(self, req: Request, items: list[Any], key: str) -> Response:
        per_page = min(int(req.arg("per_page", str(self.page_size))), self.page_size, 100)
        page = int(req.arg("page", "1"))
        chunk = items[(page - 1) * per_page : page * per_page]
        more = page * per_page < len(items)
        base = f"{req.headers.get('host', '')}{req.path}"
        args = "&".join(f"{k}={v[0]}" for k, v in req.query.items() if k != "page")
        next_page = f"{req.scheme}://{base}?{args}&page={page + 1}" if more else None
        body = {key: chunk, "next_page": next_page, "previous_page": None, "count": len(items)}
        return Response(200, body)

    # -- tickets ---------------------------------------------------------------------------

    def _list(self, req: Request, me: dict[str, Any]) -> Response:
        found = list(self.tickets.values())
        if "external_id" in req.query:
            found = [t for t in found if t["external_id"] == req.arg("external_id")]
        return self._page(req, sorted(found, key=lambda t: t["id"]), "tickets")

    def _ticket(self, ticket_id: str) -> dict[str, Any]:
        ticket = self.tickets.get(int(ticket_id))
        if ticket is None:
            raise NOT_FOUND
        return ticket

    def _show(self, req: Request, me: dict[str, Any], ticket_id: str) -> Response:
        return Response(200, {"ticket": self._ticket(ticket_id)})

    def _create(self, req: Request, me: dict[str, Any]) -> Response:
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("ticket"), dict):
            raise JsonError(400, {"error": "InvalidEndpoint", "description": "ticket is required"})
        data = body["ticket"]
        comment = data.get("comment") or {}
        if not str(comment.get("body") or "").strip():
            raise invalid("base", "Description: cannot be blank", "BlankValue")
        tid = next(self.ids)
        ticket = {
            "id": tid,
            "url": f"/api/v2/tickets/{tid}.json",
            "subject": str(data.get("subject") or ""),
            "description": comment["body"],
            "status": "new",
            "priority": None,
            "type": data.get("type"),
            "external_id": data.get("external_id"),
            "group_id": None,
            "assignee_id": None,
            "requester_id": me["id"],
            "tags": list(data.get("tags") or ()),
        }
        self.tickets[tid] = ticket
        self._apply(ticket, data, me)  # the create comment is the ticket's first comment
        return Response(201, {"ticket": ticket, "audit": {"events": [{"type": "Create"}]}},
                        {"Location": f"/api/v2/tickets/{tid}.json"})  # fmt: skip

    def _update(self, req: Request, me: dict[str, Any], ticket_id: str) -> Response:
        ticket = self._ticket(ticket_id)
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("ticket"), dict):
            raise JsonError(400, {"error": "InvalidEndpoint", "description": "ticket is required"})
        if ticket["status"] == "closed":
            raise invalid("status", "Status: closed prevents ticket update")
        events = self._apply(ticket, body["ticket"], me)
        return Response(200, {"ticket": ticket, "audit": {"events": events}})

    def _apply(self, ticket: dict[str, Any], data: dict[str, Any], me: dict[str, Any]) -> list[Any]:
        """Validate everything first (Zendesk rejects the whole update), then change."""
        if "priority" in data and data["priority"] not in (*PRIORITIES, None):
            raise invalid("priority", f"Priority: {data['priority']} is not valid")
        if "status" in data and data["status"] not in STATUSES:
            raise invalid("status", f"Status: {data['status']} is not valid")
        if data.get("group_id") is not None and data["group_id"] not in self.groups:
            raise invalid("group", "Group: is invalid")
        events: list[Any] = []
        for name in ("priority", "status", "group_id", "assignee_id", "subject"):
            if name in data and data[name] != ticket.get(name):
                events.append({"type": "Change", "field_name": name, "value": data[name]})
                ticket[name] = data[name]
        if data.get("assignee_id") is not None and ticket["status"] == "new":
            ticket["status"] = "open"  # an assigned ticket is no longer new
        comment = data.get("comment")
        if comment:
            entry = {
                "id": next(self.ids),
                "type": "Comment",
                "author_id": me["id"],
                "body": str(comment.get("body", "")),
                "public": bool(comment.get("public", True)),
            }
            self.comments.setdefault(ticket["id"], []).append(entry)
            events.append({"type": "Comment", "body": entry["body"], "public": entry["public"]})
        return events

    def _comments(self, req: Request, me: dict[str, Any], ticket_id: str) -> Response:
        self._ticket(ticket_id)
        items = list(self.comments.get(int(ticket_id), []))
        if req.arg("sort_order") == "desc":
            items.reverse()
        return self._page(req, items, "comments")

    def _groups(self, req: Request, me: dict[str, Any]) -> Response:
        items = [{"id": gid, "name": name} for gid, name in sorted(self.groups.items())]
        return self._page(req, items, "groups")
