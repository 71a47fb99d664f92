"""Generic webhook: one signed, versioned JSON event per ticket action.

Schema ``gatewatch.ticket-event/1`` (documented in the README). The signature is
HMAC-SHA256 over ``<timestamp>.<body>`` with a shared secret, sent as
``X-Gatewatch-Signature: sha256=<hex>`` with ``X-Gatewatch-Timestamp``; the
receiver rejects stale timestamps (replays) and deduplicates on
``X-Gatewatch-Delivery``, which is stable across retries of the same action.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from gatewatch.ticketing_client.actions import TicketAction
from gatewatch.ticketing_client.adapters.base import send
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

SCHEMA = "gatewatch.ticket-event/1"


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    url: str
    secret: str
    timeout: float = 10.0


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, sig: str, now: float, *, tolerance: float = 300.0
) -> bool:
    """What a receiver checks: the signature, and a timestamp within ``tolerance``."""
    try:
        fresh = abs(now - float(timestamp)) <= tolerance
    except ValueError:
        return False
    return fresh and hmac.compare_digest(signature(secret, timestamp, body), sig)


def event_document(action: TicketAction, ticket_id: str | None, sent_at: float) -> dict[str, Any]:
    doc = asdict(action)
    doc["related"] = list(action.related)
    priority = action.priority
    return {
        "schema": SCHEMA,
        "action": str(action.kind),
        "delivery_id": action.delivery_id,
        "ticket_id": ticket_id,
        "sent_at": sent_at,
        "priority_label": None if priority is None else f"P{priority}",
        # files are not part of gatewatch.ticket-event/1 (takes_attachments is False)
        **{k: v for k, v in doc.items() if k not in ("kind", "attachments")},
    }


class WebhookAdapter:
    name = "webhook"
    takes_attachments = False

    def __init__(
        self,
        settings: WebhookSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.client = httpx.AsyncClient(timeout=settings.timeout, transport=transport)

    async def _post(self, action: TicketAction, ticket_id: str | None) -> dict[str, Any]:
        now = self.clock()
        body = json.dumps(event_document(action, ticket_id, now), separators=(",", ":")).encode()
        stamp = str(int(now))
        headers = {
            "Content-Type": "application/json",
            "X-Gatewatch-Event": str(action.kind),
            "X-Gatewatch-Delivery": action.delivery_id,
            "X-Gatewatch-Timestamp": stamp,
            "X-Gatewatch-Signature": signature(self.settings.secret, stamp, body),
        }
        request = self.client.build_request(
            "POST", self.settings.url, content=body, headers=headers
        )
        response = await send(self.client, request)
        return _reply(response)

    async def create(self, action: TicketAction) -> str:
        reply = await self._post(action, None)
        ticket = reply.get("ticket_id")
        return str(ticket) if ticket not in (None, "") else action.incident_key

    async def find(self, incident_key: str) -> str | None:
        return None  # the receiver deduplicates creates on delivery id + incident key

    async def comment(self, ticket_id: str, action: TicketAction) -> None:
        await self._post(action, ticket_id)

    async def delivered(self, ticket_id: str, action: TicketAction) -> bool:
        return False  # resent after a crash: the receiver deduplicates on the delivery id

    async def acknowledged(self, ticket_id: str) -> bool:
        return False  # no read-back: the receiver gets check_ack=true and decides

    async def escalate(self, ticket_id: str, action: TicketAction) -> None:
        await self._post(action, ticket_id)

    async def resolve(self, ticket_id: str, action: TicketAction) -> None:
        await self._post(action, ticket_id)

    async def reopen(self, ticket_id: str, action: TicketAction) -> None:
        await self._post(action, ticket_id)

    async def aclose(self) -> None:
        await self.client.aclose()


def _reply(response: httpx.Response) -> dict[str, Any]:
    if not response.content.strip():
        return {}
    try:
        data = response.json()
    except ValueError:
        return {}
    if isinstance(data, dict) and data.get("accepted") is False:
        raise RejectedError(
            f"webhook receiver refused the event: {data.get('reason', 'no reason')}"
        )
    return data if isinstance(data, dict) else {}


def webhook_settings(options: Options, ctx: AdapterContext) -> WebhookSettings:
    try:
        timeout = float(options.get("timeout", 10.0))
    except (TypeError, ValueError):
        raise AdapterConfigError("the webhook timeout must be a number of seconds") from None
    return WebhookSettings(
        url=need(options, "url", "webhook"), secret=secret(options, "secret", ctx), timeout=timeout
    )


DESK = Desk(
    "webhook",
    options=frozenset(("url", "timeout")) | secret_names("secret"),
    settings=webhook_settings,
    build=lambda settings, ctx: WebhookAdapter(settings),
    takes_attachments=WebhookAdapter.takes_attachments,
)
