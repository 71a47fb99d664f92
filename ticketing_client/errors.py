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
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class RejectedError(DeskError):
    """The desk refused the action; retrying the same request will not help."""
