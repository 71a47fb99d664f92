"""The desk fakes refuse what the real APIs refuse, with the documented bodies.

These keep the fakes honest: an adapter that passes the contract against a fake
that accepted anything would prove nothing.
"""

from __future__ import annotations

import httpx
from desk_doubles import JiraDesk, ServiceNowDesk, ZendeskDesk

ZD = ("gatewatch@example.org/token", "agent-token-1")


def test_zendesk_refuses_bad_auth_blank_description_bad_priority(zendesk: ZendeskDesk) -> None:
    with httpx.Client(base_url=zendesk.url) as anonymous:
        reply = anonymous.get("/api/v2/tickets.json")
        assert reply.status_code == 401 and reply.json() == {"error": "Couldn't authenticate you"}
        assert anonymous.get("/api/v2/users/me.json").json()["user"]["id"] is None
    with httpx.Client(base_url=zendesk.url, auth=ZD) as c:
        blank = c.post("/api/v2/tickets.json", json={"ticket": {"subject": "s"}})
        assert blank.status_code == 422 and blank.json()["error"] == "RecordInvalid"
        assert "Description: cannot be blank" in blank.text
        body = {"ticket": {"subject": "s", "comment": {"body": "b"}, "priority": "P1"}}
        assert c.post("/api/v2/tickets.json", json=body).json()["details"]["priority"]
        assert c.put("/api/v2/tickets/99.json", json={"ticket": {}}).status_code == 404
        body["ticket"]["priority"] = "urgent"
        created = c.post("/api/v2/tickets.json", json=body)
        assert created.status_code == 201 and created.headers["Location"].endswith(".json")


def test_servicenow_refuses_bad_auth_and_data_policy_violations(servicenow: ServiceNowDesk) -> None:
    with httpx.Client(base_url=servicenow.url) as anonymous:
        reply = anonymous.get("/api/now/table/incident")
        assert reply.status_code == 401
        assert reply.json()["error"]["message"] == "User Not Authenticated"
        assert reply.json()["status"] == "failure"
    with httpx.Client(base_url=servicenow.url, auth=("gatewatch", "sn-password-1")) as c:
        missing = c.post("/api/now/table/incident", json={"description": "no short one"})
        assert missing.status_code == 403 and "Data Policy Exception" in missing.text
        made = c.post("/api/now/table/incident", json={"short_description": "s", "u_nope": "x"})
        record = made.json()["result"]
        assert made.status_code == 201 and "u_nope" not in record  # unknown fields ignored
        assert record["priority"] == "5" and record["number"].startswith("INC")
        resolve = c.patch(f"/api/now/table/incident/{record['sys_id']}", json={"state": "6"})
        assert resolve.status_code == 403 and "Close code" in resolve.text
        everything = c.get("/api/now/table/incident", params={"sysparm_query": "u_nope=zzz"})
        assert len(everything.json()["result"]) == 1  # an invalid condition is dropped
        assert c.get("/api/now/table/incident/" + "0" * 32).status_code == 404


def test_jira_refuses_bad_auth_unknown_project_and_invalid_transition(jira_dc: JiraDesk) -> None:
    with httpx.Client(base_url=jira_dc.url) as anonymous:
        assert anonymous.post("/rest/api/2/search", json={"jql": ""}).status_code == 401
    with httpx.Client(base_url=jira_dc.url, auth=("gatewatch@example.org", "jira-token-1")) as c:
        jql = c.post("/rest/api/2/search", json={"jql": 'project = "NOPE"'})
        assert jql.status_code == 400
        assert jql.json()["errorMessages"] == [
            "The value 'NOPE' does not exist for the field 'project'."
        ]
        assert c.post("/rest/api/2/search", json={"jql": "summary ~ x"}).status_code == 400
        fields = {"project": {"key": "NOPE"}, "issuetype": {"name": "Task"}, "summary": "s"}
        assert c.post("/rest/api/2/issue", json={"fields": fields}).json()["errors"]["project"]
        fields["project"] = {"key": "OPS"}
        key = c.post("/rest/api/2/issue", json={"fields": fields}).json()["key"]
        bad = c.post(f"/rest/api/2/issue/{key}/transitions", json={"transition": {"id": "41"}})
        assert bad.status_code == 400 and "is not valid for this issue" in bad.text
        assert c.get("/rest/api/3/issue/" + key).status_code == 404  # a DC has no v3
