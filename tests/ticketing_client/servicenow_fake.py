"""A fake ServiceNow instance (REST Table API), mirroring the documented endpoints it serves.

Mirrors (docs.servicenow.com, "Table API", /api/now/table/{tableName}):
- GET   /api/now/table/incident          Retrieve records: sysparm_query (encoded query),
                                          sysparm_limit/offset, sysparm_fields; X-Total-Count
                                          and a Link header (rel="next") for pages
- POST  /api/now/table/incident          Create a record -> 201 {"result": record} + Location
- GET   /api/now/table/incident/{sys_id} Retrieve a record (404 "No Record found")
- PATCH /api/now/table/incident/{sys_id} Update a record -> 200 {"result": record}
- GET   /api/now/table/sys_user_group    groups by name (assignment groups)
- GET   /api/now/table/sys_journal_field work notes of a record (element=work_notes)
Behaviour mirrored from the platform: values are strings, references are
{"link", "value"}; unknown fields in a body are ignored and unknown fields in a
query drop the condition (glide.invalid_query.returns_no_rows = false); priority
is computed from impact x urgency (baseline lookup); data policies make
short_description mandatory and close_code + close_notes mandatory when
resolving (403 "Data Policy Exception"); closed incidents are read-only (403 ACL);
string comparisons in queries ignore case (the platform's default collation).
Errors: {"error": {"message", "detail"}, "status": "failure"}; 401 without valid
Basic or Bearer credentials; 429 with Retry-After when rate-limited.
"""

from __future__ import annotations

import itertools
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from http_fake import JsonError, Request, Response, basic_user, bearer

FIELDS = ("short_description", "description", "impact", "urgency", "state", "correlation_id",
          "correlation_display", "assignment_group", "assigned_to", "close_code", "close_notes",
          "caller_id", "contact_type")  # fmt: skip
REFERENCES = frozenset({"assignment_group", "assigned_to", "caller_id"})
PRIORITY = {("1", "1"): "1", ("1", "2"): "2", ("1", "3"): "3", ("2", "1"): "2", ("2", "2"): "3",
            ("2", "3"): "4", ("3", "1"): "3", ("3", "2"): "4", ("3", "3"): "5"}  # fmt: skip
RATE_LIMITED = Response(
    429,
    {
        "error": {"message": "Rate limit exceeded", "detail": "Too many requests"},
        "status": "failure",
    },
    {"Retry-After": "1"},
)


def failure(status: int, message: str, detail: str) -> JsonError:
    return JsonError(status, {"error": {"message": message, "detail": detail}, "status": "failure"})


@dataclass
class ServiceNowFake:
    users: dict[str, str] = field(default_factory=dict)  # user_name -> password
    oauth: dict[str, str] = field(default_factory=dict)  # access token -> user_name
    user_ids: dict[str, str] = field(default_factory=dict)  # user_name -> sys_id
    groups: dict[str, str] = field(default_factory=dict)  # sys_id -> name
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)
    journal: list[dict[str, str]] = field(default_factory=list)
    page_size: int = 10_000  # the documented default sysparm_limit
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(10001))
    ticks: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add_user(self, name: str, password: str) -> str:
        self.users[name] = password
        self.user_ids[name] = secrets.token_hex(16)
        return self.user_ids[name]

    def __call__(self, req: Request) -> Response:
        user = self._auth(req)
        match = re.fullmatch(r"/api/now/table/(\w+)(?:/(\w{32}))?", req.path)
        if match is None:
            raise failure(400, "Requested URI does not represent any resource", req.path)
        table, sys_id = match.groups()
        if table == "incident":
            return self._incident(req, user, sys_id)
        if table == "sys_user_group" and req.method == "GET":
            rows = [{"sys_id": k, "name": v} for k, v in self.groups.items()]
            return self._list(req, rows)
        if table == "sys_journal_field" and req.method == "GET":
            return self._list(req, list(self.journal))
        raise failure(400, "Invalid table " + table, "")

    def _auth(self, req: Request) -> str:
        pair = basic_user(req)
        if pair is not None and self.users.get(pair[0]) == pair[1]:
            return pair[0]
        token = bearer(req)
        if token is not None and token in self.oauth:
            return self.oauth[token]
        raise failure(401, "User Not Authenticated", "Required to provide Auth information")

    # -- incident --------------------------------------------------------------------------

    def _incident(self, req: Request, user: str, sys_id: str | None) -> Response:
        if sys_id is None and req.method == "GET":
            return self._list(req, list(self.incidents.values()))
        if sys_id is None and req.method == "POST":
            return self._insert(req, user)
        record = self.incidents.get(sys_id or "")
        if record is None:
            raise failure(404, "No Record found",
                          "Record doesn't exist or ACL restricts the record retrieval")  # fmt: skip
        if req.method == "GET":
            return Response(200, {"result": record})
        if req.method in ("PATCH", "PUT"):
            return self._update(req, user, record)
        raise failure(405, "Method not Supported", req.method)

    def _body(self, req: Request) -> dict[str, Any]:
        try:
            body = req.json()
        except ValueError:
            raise failure(
                400, "Exception while reading request", "Cannot decode: " + str(req.body[:40])
            ) from None
        if not isinstance(body, dict):
            raise failure(400, "Exception while reading request", "The payload is not valid JSON.")
        return {k: str(v) for k, v in body.items()}

    def _insert(self, req: Request, user: str) -> Response:
        body = self._body(req)
        if not body.get("short_description", "").strip():
            raise failure(
                403,
                "Operation Failed",
                "Data Policy Exception: \n Short description is mandatory\n",
            )
        sys_id = secrets.token_hex(16)
        record: dict[str, Any] = dict.fromkeys(FIELDS, "")
        record.update(sys_id=sys_id, number=f"INC{next(self.numbers):07d}", state="1",
                      impact="3", urgency="3", sys_created_by=user, active="true")  # fmt: skip
        self._write(record, body, user)
        self.incidents[sys_id] = record
        location = f"/api/now/table/incident/{sys_id}"
        return Response(201, {"result": record}, {"Location": location})

    def _update(self, req: Request, user: str, record: dict[str, Any]) -> Response:
        if record["state"] == "7":
            raise failure(
                403, "Operation Failed", "ACL Exception Update Failed due to security constraints"
            )
        body = self._body(req)
        if body.get("state") == "6":
            missing = [f for f in ("close_code", "close_notes") if not (body.get(f) or record[f])]
            if missing:
                names = ", ".join(m.replace("_", " ").capitalize() for m in missing)
                raise failure(
                    403, "Operation Failed", f"Data Policy Exception: \n {names} mandatory\n"
                )
        self._write(record, body, user)
        return Response(200, {"result": record})

    def _write(self, record: dict[str, Any], body: dict[str, str], user: str) -> None:
        for name, value in body.items():
            if name == "work_notes" and value:
                self.journal.append({"sys_id": secrets.token_hex(16), "element": "work_notes",
                                     "element_id": record["sys_id"], "value": value,
                                     "sys_created_by": user,
                                     "sys_created_on": f"{next(self.ticks):012d}"})  # fmt: skip
            elif name in REFERENCES:
                record[name] = self._reference(name, value)
            elif name in FIELDS:
                record[name] = value  # anything else is ignored, as the Table API does
        record["priority"] = PRIORITY[(record["impact"], record["urgency"])]
        record["active"] = "false" if record["state"] in ("7", "8") else "true"
        record["sys_updated_by"] = user

    def _reference(self, name: str, value: str) -> Any:
        known = self.groups if name == "assignment_group" else set(self.user_ids.values())
        if not value or value not in known:
            return ""  # an unknown sys_id leaves the reference empty
        return {"link": f"/api/now/table/x/{value}", "value": value}

    # -- queries ---------------------------------------------------------------------------

    def _list(self, req: Request, rows: list[dict[str, Any]]) -> Response:
        rows = query(rows, req.arg("sysparm_query"))
        limit = min(int(req.arg("sysparm_limit", str(self.page_size))), self.page_size)
        offset = int(req.arg("sysparm_offset", "0"))
        page = rows[offset : offset + limit]
        fields = [f for f in req.arg("sysparm_fields").split(",") if f]
        if fields:
            page = [{f: r.get(f, "") for f in fields} for r in page]
        headers = {"X-Total-Count": str(len(rows))}
        if offset + limit < len(rows):
            args = "&".join(f"{k}={v[0]}" for k, v in req.query.items() if k != "sysparm_offset")
            headers["Link"] = f'<{req.path}?{args}&sysparm_offset={offset + limit}>;rel="next"'
        return Response(200, {"result": page}, headers)


def query(rows: list[dict[str, Any]], encoded: str) -> list[dict[str, Any]]:
    """The encoded-query subset gatewatch uses: =, !=, IN, NOT IN, ORDERBY[DESC]."""
    order: tuple[str, bool] | None = None
    terms = encoded.replace("^^", "\0").split("^")  # "^^" is a literal caret
    for term in [t.replace("\0", "^") for t in terms if t]:
        if term.startswith("ORDERBY"):
            desc = term.startswith("ORDERBYDESC")
            order = (term.removeprefix("ORDERBYDESC" if desc else "ORDERBY"), desc)
            continue
        rows = _filter(rows, term)
    if order is not None:
        rows = sorted(rows, key=lambda r: str(r.get(order[0], "")), reverse=order[1])
    return rows


def _filter(rows: list[dict[str, Any]], term: str) -> list[dict[str, Any]]:
    match = re.fullmatch(r"(\w+?)(NOT IN|IN|!=|=)(.*)", term)
    if match is None or (rows and match.group(1) not in rows[0]):
        return rows  # an invalid condition is dropped, not an error
    name, op, value = match.groups()

    def keep(row: dict[str, Any]) -> bool:
        have = row.get(name)
        have = have.get("value", "") if isinstance(have, dict) else str(have)
        if op in ("IN", "NOT IN"):
            return (have in value.split(",")) == (op == "IN")
        return (have.lower() == value.lower()) == (op == "=")  # case-insensitive, as on MySQL

    return [r for r in rows if keep(r)]
