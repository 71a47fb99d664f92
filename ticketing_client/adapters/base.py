"""The adapter contract and the HTTP error classification the HTTP adapters share."""

from __future__ import annotations

import time
from typing import Protocol

import httpx
from gatewatch.ticketing_client.actions import TicketAction
from gatewatch.ticketing_client.errors import RejectedError, RetryableError
from gatewatch.ticketing_client.retry import parse_retry_after

RETRY_STATUSES = frozenset({408, 425, 429})


class Adapter(Protocol):
    """One service desk. Methods raise RetryableError or RejectedError; nothing else escapes."""

    name: str
    # whether ``create`` delivers ``action.attachments``; when False the worker sends the
    # action without them and says so in its text
    takes_attachments: bool

    async def create(self, action: TicketAction) -> str:
        """Open the ticket, or return the one the desk already has for the incident key."""
        ...

    async def find(self, incident_key: str) -> str | None: ...

    async def comment(self, ticket_id: str, action: TicketAction) -> None: ...

    async def delivered(self, ticket_id: str, action: TicketAction) -> bool:
        """Whether an attempt cut short by a crash already reached the desk."""
        ...

    async def acknowledged(self, ticket_id: str) -> bool:
        """A person took the ticket (owner set / moved on from new), read from the desk."""
        ...

    async def escalate(self, ticket_id: str, action: TicketAction) -> None: ...

    async def resolve(self, ticket_id: str, action: TicketAction) -> None: ...

    async def reopen(self, ticket_id: str, action: TicketAction) -> None: ...

    async def aclose(self) -> None: ...


def _reason(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return f"HTTP {response.status_code} from {response.request.url.path}: {text[:500]}"


def check_response(response: httpx.Response) -> httpx.Response:
    """Raise RetryableError for 429/5xx (with Retry-After), RejectedError for other 4xx."""
    code = response.status_code
    if code < 400:
        return response
    if code in RETRY_STATUSES or code >= 500:
        after = parse_retry_after(response.headers.get("Retry-After"), time.time())
        refused = code in (429, 503)  # the desk turned the request away unprocessed
        raise RetryableError(_reason(response), after, maybe_delivered=not refused)
    raise RejectedError(_reason(response), code)


async def send(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """One HTTP exchange with transport failures mapped to RetryableError."""
    try:
        response = await client.send(request)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        reason = f"cannot reach {request.url.host}: {exc!r}"
        raise RetryableError(reason, maybe_delivered=False) from exc
    except httpx.TimeoutException as exc:
        raise RetryableError(
            f"timeout talking to {request.url.host}: {type(exc).__name__}"
        ) from exc
    except httpx.HTTPError as exc:
        raise RetryableError(f"cannot reach {request.url.host}: {exc!r}") from exc
    return check_response(response)
