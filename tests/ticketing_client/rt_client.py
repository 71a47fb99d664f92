"""Reading a real RT back in tests (sync httpx), and acting as the technician."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
from gatewatch.ticketing_client.adapters.rt import RequestTrackerAdapter, RTSettings
from rt_server import QUEUE


class RTReader:
    def __init__(self, url: str, token: str, tech_token: str = "") -> None:
        self.url, self.token = url, token
        self.http = httpx.Client(
            base_url=url + "/REST/2.0", headers={"Authorization": f"token {token}"}, timeout=30
        )
        self.tech = httpx.Client(
            base_url=url + "/REST/2.0",
            headers={"Authorization": f"token {tech_token}", "Content-Type": "application/json"},
            timeout=30,
        )

    def adapter(self, url: str | None = None, timeout: float = 10.0) -> RequestTrackerAdapter:
        settings = RTSettings(
            url=url or self.url, token=self.token, queue=QUEUE, timeout=timeout, max_connections=2
        )
        return RequestTrackerAdapter(settings)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.http.get("/queues/all").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("RT REST2 did not answer")
            time.sleep(0.2)

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        data = self.http.get(f"/ticket/{ticket_id}").raise_for_status().json()
        assert isinstance(data, dict)
        return data

    def tickets_for(self, key: str) -> list[str]:
        """Every ticket (any status) carrying the incident key."""
        query = f"'CF.{{IncidentKey}}' = '{key}'"
        data = self.http.get("/tickets", params={"query": query, "per_page": "100"}).json()
        return [str(t["id"]) for t in data["items"]]

    def history(self, ticket_id: str) -> list[dict[str, Any]]:
        params = {"fields": "Type,Creator,Field,OldValue,NewValue", "per_page": "100"}
        data = self.http.get(f"/ticket/{ticket_id}/history", params=params).json()
        return list(data["items"])

    def comments(self, ticket_id: str) -> list[str]:
        """The texts of the Create and Comment transactions, in order."""
        params = {"fields": "Content,ContentType,TransactionId", "per_page": "100"}
        data = self.http.get(f"/ticket/{ticket_id}/attachments", params=params).json()
        texts = []
        for item in data["items"]:
            if item.get("ContentType") == "text/plain" and item.get("Content"):
                texts.append(str(item["Content"]))  # collections return it plain
        return texts

    def files(self, ticket_id: str) -> dict[str, tuple[str, bytes]]:
        """The ticket's named attachments: file name -> (content type, bytes as stored)."""
        params = {"fields": "Filename,ContentType", "per_page": "100"}
        items = self.http.get(f"/ticket/{ticket_id}/attachments", params=params).json()["items"]
        out = {}
        for item in items:
            if item.get("Filename"):
                data = self.http.get(f"/attachment/{item['id']}").raise_for_status().json()
                out[item["Filename"]] = (item["ContentType"], base64.b64decode(data["Content"]))
        return out

    def priority(self, ticket_id: str) -> int:
        return int(self.ticket(ticket_id)["Priority"])

    def queue_name(self, ticket_id: str) -> str:
        queue_id = self.ticket(ticket_id)["Queue"]["id"]
        return str(self.http.get(f"/queue/{queue_id}").json()["Name"])

    def refers_to(self, ticket_id: str) -> list[str]:
        links = self.ticket(ticket_id)["_hyperlinks"]
        return [str(h["id"]) for h in links if h.get("ref") == "refers-to"]

    def open_as_tech(self, ticket_id: str) -> None:
        reply = self.tech.put(f"/ticket/{ticket_id}", json={"Status": "open"})
        assert any("Status changed" in m for m in reply.raise_for_status().json()), reply.text

    def take_as_tech(self, ticket_id: str) -> None:
        reply = self.tech.put(f"/ticket/{ticket_id}/take").raise_for_status().json()
        assert any("Owner changed" in m for m in reply), reply

    def close(self) -> None:
        self.http.close()
        self.tech.close()
