"""A fake Jira (Cloud REST v3 or Data Center REST v2), mirroring the endpoints it serves.

Mirrors (developer.atlassian.com/cloud/jira/platform/rest/v3 and the Jira Server /
Data Center REST API 2 reference):
- POST /rest/api/{v}/search/jql (v3)   Search for issues using JQL (enhanced search):
                                        {"jql", "fields", "maxResults", "nextPageToken"}
                                        -> {"issues", "nextPageToken"} (token pages)
- POST /rest/api/2/search (v2)          {"jql", "startAt", "maxResults", "fields"}
                                        -> {"startAt", "maxResults", "total", "issues"}
- POST /rest/api/{v}/issue              Create issue {"fields": {...}} -> 201 {"id", "key", "self"}
- GET  /rest/api/{v}/issue/{key}        Get issue {"id", "key", "fields": {...}}
- PUT  /rest/api/{v}/issue/{key}        Edit issue {"fields": {...}} -> 204
- GET/POST /rest/api/{v}/issue/{key}/comment      comments (startAt/maxResults/total pages)
- GET/POST /rest/api/{v}/issue/{key}/transitions  available transitions / do one (204)
v3 takes descriptions and comment bodies only as Atlassian Document Format (a plain
string is 400 "Operation value must be an Atlassian Document"); v2 takes strings.
Errors: {"errorMessages": [...], "errors": {field: message}}; unknown project 400,
a field missing from the create screen 400, an unavailable transition 400, unknown
issue 404, no valid Basic/Bearer credentials 401, rate limit 429 + Retry-After.
The JQL subset served: clauses joined by AND (project =, labels =, statusCategory
!=/=, key =) and ORDER BY created ASC|DESC; anything else is a 400 like Jira's.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from http_fake import JsonError, Request, Response, basic_user, bearer

STATUSES = {"To Do": "new", "In Progress": "indeterminate", "Done": "done"}
TRANSITIONS = {  # from status -> [(id, name, to)]
    "To Do": [("11", "Start Progress", "In Progress"), ("31", "Done", "Done")],
    "In Progress": [("21", "Stop Progress", "To Do"), ("31", "Done", "Done")],
    "Done": [("41", "Reopen", "To Do")],
}
PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
RATE_LIMITED = Response(
    429, {"errorMessages": ["Rate limit exceeded."], "errors": {}}, {"Retry-After": "1"}
)


def error(status: int, messages: list[str], errors: dict[str, str] | None = None) -> JsonError:
    return JsonError(status, {"errorMessages": messages, "errors": errors or {}})


def is_adf(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "doc" and value.get("version") == 1


def adf_text(doc: dict[str, Any]) -> str:
    """The plain text of an ADF document: one line per paragraph."""
    lines = []
    for block in doc.get("content", []):
        lines.append("".join(part.get("text", "") for part in block.get("content", [])))
    return "\n".join(lines)


@dataclass
class JiraFake:
    version: str = "3"  # "3" Cloud, "2" Data Center
    users: dict[str, str] = field(default_factory=dict)  # name/e-mail -> API token/password
    tokens: dict[str, str] = field(default_factory=dict)  # bearer (OAuth / PAT) -> user
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> components, screen
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    page_size: int = 50
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(10001))

    def add_project(
        self, key: str, components: tuple[str, ...], labels_on_screen: bool = True
    ) -> None:
        self.projects[key] = {"components": set(components), "labels": labels_on_screen, "n": 0}

    def __call__(self, req: Request) -> Response:
        user = self._auth(req)
        base = f"/rest/api/{self.version}"
        if not req.path.startswith(base + "/"):
            raise error(404, [f"No API version {req.path.split('/')[3]} here"])
        path = req.path[len(base) :]
        routes = (
            ("POST", r"/search/jql" if self.version == "3" else r"/search", self._search),
            ("POST", r"/issue", self._create),
            ("GET", r"/issue/([A-Z]+-\d+)", self._get),
            ("PUT", r"/issue/([A-Z]+-\d+)", self._edit),
            ("GET", r"/issue/([A-Z]+-\d+)/comment", self._comments),
            ("POST", r"/issue/([A-Z]+-\d+)/comment", self._add_comment),
            ("GET", r"/issue/([A-Z]+-\d+)/transitions", self._transitions),
            ("POST", r"/issue/([A-Z]+-\d+)/transitions", self._transition),
        )
        for method, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if match and req.method == method:
                return handler(req, user, *match.groups())  # type: ignore[operator]
        raise error(404, ["null for uri: " + req.path])

    def _auth(self, req: Request) -> str:
        pair = basic_user(req)
        if pair is not None and self.users.get(pair[0]) == pair[1]:
            return pair[0]
        token = bearer(req)
        if token is not None and token in self.tokens:
            return self.tokens[token]
        raise error(401, ["Client must be authenticated to access this resource."])

    def _issue(self, key: str) -> dict[str, Any]:
        if key not in self.issues:
            raise error(404, ["Issue does not exist or you do not have permission to see it."])
        return self.issues[key]

    def _text(self, value: Any, name: str) -> Any:
        if self.version == "3" and not is_adf(value):
            raise error(
                400,
                [],
                {name: NOT_ADF},
            )
        if self.version == "2" and not isinstance(value, str):
            raise error(400, [], {name: "Operation value must be a string"})
        return value

    # -- search ----------------------------------------------------------------------------

    def _search(self, req: Request, user: str) -> Response:
        body = req.json() or {}
        found = self._jql(str(body.get("jql", "")))
        size = min(int(body.get("maxResults", self.page_size)), self.page_size)
        if self.version == "2":
            start = int(body.get("startAt", 0))
            page = found[start : start + size]
            return Response(200, {"startAt": start, "maxResults": size, "total": len(found),
                                  "issues": page})  # fmt: skip
        start = int(body.get("nextPageToken") or 0)
        page = found[start : start + size]
        out: dict[str, Any] = {"issues": page}
        if start + size < len(found):
            out["nextPageToken"] = str(start + size)
        return Response(200, out)

    def _jql(self, jql: str) -> list[dict[str, Any]]:
        where, _, order = jql.partition(" ORDER BY ")
        issues = list(self.issues.values())
        for clause in [c.strip() for c in where.split(" AND ") if c.strip()]:
            issues = self._clause(issues, clause)
        if order:
            match = re.fullmatch(r"created (ASC|DESC)", order.strip())
            if match is None:
                raise error(400, [f"Error in the JQL Query: cannot order by {order!r}."])
            issues.sort(key=lambda i: int(i["id"]), reverse=match.group(1) == "DESC")
        return issues

    def _clause(self, issues: list[dict[str, Any]], clause: str) -> list[dict[str, Any]]:
        match = re.fullmatch(r'(project|labels|statusCategory|key) (=|!=) "?([^"]*)"?', clause)
        if match is None:
            raise error(400, [f"Error in the JQL Query: the clause {clause!r} is not understood."])
        name, op, value = match.groups()
        if name == "project" and value not in self.projects:
            raise error(400, [f"The value '{value}' does not exist for the field 'project'."])

        def has(i: dict[str, Any]) -> bool:
            f = i["fields"]
            if name == "labels":
                return value in f["labels"]
            if name == "statusCategory":
                return bool(f["status"]["statusCategory"]["name"].lower() == value.lower())
            return (f["project"]["key"] if name == "project" else i["key"]) == value

        return [i for i in issues if has(i) == (op == "=")]

    # -- issues ----------------------------------------------------------------------------

    def _create(self, req: Request, user: str) -> Response:
        fields = (req.json() or {}).get("fields")
        if not isinstance(fields, dict):
            raise error(400, ["Can not deserialize instance of fields"])
        errors = self._create_errors(fields)
        if errors:
            raise error(400, [], errors)
        project = self.projects[fields["project"]["key"]]
        project["n"] += 1
        key = f"{fields['project']['key']}-{project['n']}"
        priority = (fields.get("priority") or {}).get("name", "Medium")
        issue = {
            "id": str(next(self.ids)),
            "key": key,
            "self": f"/rest/api/{self.version}/issue/{key}",
            "fields": {
                "project": {"key": fields["project"]["key"]},
                "summary": fields["summary"],
                "description": fields.get("description"),
                "issuetype": fields["issuetype"],
                "priority": {"name": priority},
                "labels": list(fields.get("labels") or []),
                "components": [],
                "assignee": None,
                "status": self._status("To Do"),
            },
        }
        self.issues[key] = issue
        return Response(201, {"id": issue["id"], "key": key, "self": issue["self"]})

    def _create_errors(self, fields: dict[str, Any]) -> dict[str, str]:
        errors = {}
        project = self.projects.get((fields.get("project") or {}).get("key", ""))
        if project is None:
            errors["project"] = "valid project is required"
        if not str(fields.get("summary") or "").strip():
            errors["summary"] = "You must specify a summary of the issue."
        if not (fields.get("issuetype") or {}).get("name"):
            errors["issuetype"] = "valid issue type is required"
        if (fields.get("priority") or {}).get("name", "Medium") not in PRIORITIES:
            errors["priority"] = "Specify the Priority (name) in the string format"
        if project is not None and fields.get("labels") and not project["labels"]:
            errors["labels"] = (
                "Field 'labels' cannot be set. It is not on the appropriate screen, or unknown."
            )
        if "description" in fields:
            try:
                self._text(fields["description"], "description")
            except JsonError as err:
                errors.update(err.response.body["errors"])
        return errors

    def _status(self, name: str) -> dict[str, Any]:
        return {"name": name, "statusCategory": {"key": STATUSES[name], "name": {"new": "To Do",
                "indeterminate": "In Progress", "done": "Done"}[STATUSES[name]]}}  # fmt: skip

    def _get(self, req: Request, user: str, key: str) -> Response:
        return Response(200, self._issue(key))

    def _edit(self, req: Request, user: str, key: str) -> Response:
        issue = self._issue(key)
        fields = (req.json() or {}).get("fields") or {}
        project = self.projects[issue["fields"]["project"]["key"]]
        errors = {}
        if "priority" in fields and fields["priority"].get("name") not in PRIORITIES:
            errors["priority"] = "Specify the Priority (name) in the string format"
        for comp in fields.get("components", []):
            if comp.get("name") not in project["components"]:
                errors["components"] = f"Component name '{comp.get('name')}' is not valid"
        if errors:
            raise error(400, [], errors)
        for name in ("priority", "components", "assignee", "summary", "labels"):
            if name in fields:
                issue["fields"][name] = fields[name]
        return Response(204)

    def _comments(self, req: Request, user: str, key: str) -> Response:
        self._issue(key)
        items = self.comments.get(key, [])
        start = int(req.arg("startAt", "0"))
        size = min(int(req.arg("maxResults", str(self.page_size))), self.page_size)
        return Response(200, {"startAt": start, "maxResults": size, "total": len(items),
                              "comments": items[start : start + size]})  # fmt: skip

    def _add_comment(self, req: Request, user: str, key: str) -> Response:
        self._issue(key)
        body = self._text((req.json() or {}).get("body"), "comment")
        comment = {"id": str(next(self.ids)), "author": {"name": user, "emailAddress": user},
                   "body": body}  # fmt: skip
        self.comments.setdefault(key, []).append(comment)
        return Response(201, comment)

    def _transitions(self, req: Request, user: str, key: str) -> Response:
        status = self._issue(key)["fields"]["status"]["name"]
        options = TRANSITIONS[status]
        found = [{"id": tid, "name": name, "to": self._status(to)} for tid, name, to in options]
        return Response(200, {"transitions": found})

    def _transition(self, req: Request, user: str, key: str) -> Response:
        issue = self._issue(key)
        wanted = str(((req.json() or {}).get("transition") or {}).get("id", ""))
        for tid, _name, to in TRANSITIONS[issue["fields"]["status"]["name"]]:
            if tid == wanted:
                issue["fields"]["status"] = self._status(to)
                return Response(204)
        raise error(400, [f"Transition id '{wanted}' is not valid for this issue."])
