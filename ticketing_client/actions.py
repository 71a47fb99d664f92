"""Ticket actions: what the outbox stores and the adapters deliver.

An action carries everything the desk needs already rendered (subject, text,
priority), so an adapter translates it into its API and decides nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from gatewatch.core.events import Attachment


class ActionKind(StrEnum):
    CREATE = "create"  # open the ticket (idempotent by incident key)
    UPDATE = "update"  # comment while firing
    ESCALATE = "escalate"  # SLA level (acknowledgement checked first) or engine escalation
    RESOLVE = "resolve"  # recovery comment; closes the ticket when the policy says so
    REOPEN = "reopen"  # the same ticket back to open, with the reopen count


@dataclass(frozen=True, slots=True)
class TicketAction:
    kind: ActionKind
    incident_key: str
    subject: str = ""
    text: str = ""  # ticket body (create) or comment text
    priority: int | None = None  # P1..P4 to set; None keeps it
    queue: str | None = None  # move to this queue / group
    close: bool = False  # RESOLVE: set the ticket resolved
    check_ack: bool = False  # ESCALATE: skip when a person acknowledged the ticket
    level: int = 0  # ESCALATE: SLA level (1-based), 0 for engine escalations
    reopen_count: int = 0
    potentially_critical: bool = False
    related: tuple[str, ...] = ()
    event: dict[str, Any] = field(default_factory=dict)  # event summary (webhook payload)
    attachments: tuple[Attachment, ...] = ()  # CREATE: files for the ticket (trend plot)

    @property
    def delivery_id(self) -> str:
        """Stable across retries and restarts: receivers and read-backs deduplicate on it."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:32]

    def to_json(self) -> str:
        doc = asdict(self)
        if self.attachments:  # bytes in base64; no key at all keeps old delivery ids
            doc["attachments"] = [_attachment_doc(a) for a in self.attachments]
        else:
            del doc["attachments"]
        return json.dumps(doc, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TicketAction:
        raw = json.loads(text)
        raw["kind"] = ActionKind(raw["kind"])
        raw["related"] = tuple(raw.get("related", ()))
        raw["attachments"] = tuple(_attachment(d) for d in raw.get("attachments", ()))
        return cls(**raw)


@dataclass(frozen=True, slots=True)
class QueuedAction:
    """An outbox row: the action plus its delivery bookkeeping."""

    id: int
    action: TicketAction
    state: str  # pending | parked | done
    attempts: int
    next_attempt: float
    created: float
    attempt_started: float | None = None
    last_error: str = ""


def _attachment_doc(a: Attachment) -> dict[str, str]:
    data = base64.b64encode(a.data).decode("ascii")
    return {"name": a.name, "content_type": a.content_type, "data": data, "desc": a.description}


def _attachment(doc: dict[str, str]) -> Attachment:
    data = base64.b64decode(doc["data"], validate=True)
    return Attachment(doc["name"], doc["content_type"], data, doc.get("desc", "attachment"))
