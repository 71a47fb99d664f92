"""Files carried by ticket actions (the trend plot of a predictive ticket).

An attachment travels inside its create action's outbox row (base64 in the JSON
payload, in state.db), so a crash between the alert and the delivery keeps it.
Desks whose adapter has ``takes_attachments`` get the file with the create; for
the others the ticket text says so (``trend plot not attached: webhook adapter
does not take attachments``) instead of dropping it silently. A file over
``MAX_BYTES`` is never queued (the text says why), and a failed attachment
never blocks the ticket: the worker sends the create without it (see worker.py).
"""

from __future__ import annotations

from dataclasses import replace

from gatewatch.core.events import Attachment
from gatewatch.ticketing_client.actions import TicketAction

MAX_BYTES = 64 * 1024  # per file, in state.db and at the desk


def too_large(a: Attachment, cap: int = MAX_BYTES) -> str | None:
    """Why ``a`` may not be queued, or None when it fits."""
    if len(a.data) <= cap:
        return None
    return f"{len(a.data) / 1024:.1f} KiB is over the {cap / 1024:g} KiB cap"


def fit(attachments: tuple[Attachment, ...], text: str) -> tuple[tuple[Attachment, ...], str]:
    """The attachments within the cap, and ``text`` with a note for each one left out."""
    kept = tuple(a for a in attachments if too_large(a) is None)
    notes = [note(a, why) for a in attachments if (why := too_large(a)) is not None]
    return kept, _append(text, notes)


def note(a: Attachment, why: str) -> str:
    return f"{a.description} not attached: {why}"


def unsupported(desk: str) -> str:
    return f"{desk} adapter does not take attachments"


def without(action: TicketAction, why: str) -> TicketAction:
    """The action with its attachments replaced by a note in its text saying why."""
    notes = [note(a, why) for a in action.attachments]
    return replace(action, attachments=(), text=_append(action.text, notes))


def _append(text: str, notes: list[str]) -> str:
    if not notes:
        return text
    return "\n\n".join([text.rstrip("\n"), "\n".join(notes)]) if text else "\n".join(notes)
