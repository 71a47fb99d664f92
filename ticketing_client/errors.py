"""What can go wrong talking to a service desk, in two classes.

``RetryableError`` (timeouts, connection errors, 5xx, 429) keeps the action pending
with backoff; ``RejectedError`` (other 4xx, refusals) parks it with the desk's reason.
"""

from __future__ import annotations


class DeskError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryableError(DeskError):
    """Try again later. ``maybe_delivered``: the request may have reached the desk (a
    timeout after sending, a 5xx), so the next attempt first asks the desk."""

    def __init__(
        self, reason: str, retry_after: float | None = None, *, maybe_delivered: bool = True
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.maybe_delivered = maybe_delivered


class RejectedError(DeskError):
    """The desk refused the action; retrying the same request will not help.
    ``status``: the HTTP status of the refusal, when there was one (0 otherwise)."""

    def __init__(self, reason: str, status: int = 0) -> None:
        super().__init__(reason)
        self.status = status
