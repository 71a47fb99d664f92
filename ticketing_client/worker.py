"""Delivers outbox actions: in order per incident, concurrently across incidents.

The worker shares the process's state-database connection (with its lock) and
runs on the asyncio loop. For each incident only the oldest undelivered action
is eligible; a parked action blocks its incident until an operator retries or
drops it, so a ticket never receives an update before its create.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import structlog
from gatewatch.ticketing_client import attachments, outbox
from gatewatch.ticketing_client.actions import ActionKind, QueuedAction, TicketAction
from gatewatch.ticketing_client.adapters.base import Adapter
from gatewatch.ticketing_client.errors import DeskError, RejectedError, RetryableError
from gatewatch.ticketing_client.retry import RetryPolicy

log = structlog.get_logger("gatewatch.ticketing")
KEEP_DONE = 7 * 86_400.0  # delivered and dropped actions stay visible this long
PRUNE_EVERY = 3600.0
ATTACH_TRIES = 3  # attempts of a create with its files before it goes without them


@dataclass
class WorkerStats:
    delivered: int = 0
    retried: int = 0
    parked: int = 0
    acknowledged_skips: int = 0
    last_error: str = ""
    by_kind: dict[str, int] = field(default_factory=dict)
    # escalations delivered, by rule (the incident key's prefix); replaced, not mutated,
    # so a metrics scrape on another thread never sees it change size
    escalations_by_rule: dict[str, int] = field(default_factory=dict)
    # files of delivered creates, by outcome: sent, unsupported (the desk takes none),
    # failed (refused, or still failing after ATTACH_TRIES: the ticket went without)
    attachments: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delivery:
    ticket_id: str | None
    acknowledged: bool = False


async def deliver(
    adapter: Adapter, action: TicketAction, ticket_id: str | None, *, check_first: bool = False
) -> Delivery:
    """One action against the desk; raises RetryableError or RejectedError.

    ``check_first``: an earlier attempt ended without an answer (kill -9, power cut,
    a timeout after sending); the desk is asked first whether it already has it.
    """
    if action.kind is ActionKind.CREATE:
        return Delivery(await adapter.create(action))
    if ticket_id is None:
        ticket_id = await adapter.find(action.incident_key)
        if ticket_id is None:
            raise RejectedError(
                f"no ticket for incident {action.incident_key} (its create was dropped?)"
            )
    if check_first and await adapter.delivered(ticket_id, action):
        return Delivery(ticket_id)
    if action.kind is ActionKind.ESCALATE:
        if action.check_ack and await adapter.acknowledged(ticket_id):
            return Delivery(ticket_id, acknowledged=True)
        await adapter.escalate(ticket_id, action)
    elif action.kind is ActionKind.RESOLVE:
        await adapter.resolve(ticket_id, action)
    elif action.kind is ActionKind.REOPEN:
        await adapter.reopen(ticket_id, action)
    else:
        await adapter.comment(ticket_id, action)
    return Delivery(ticket_id)


def _desk_answered(error: str) -> bool:
    """The last attempt failed with an answer (5xx...), not with the desk out of reach."""
    return not error.startswith(("cannot reach", "timeout"))


def notify_ack(observers: list[Callable[[outbox.Ack], None]], ack: outbox.Ack) -> None:
    log.info(
        "ticket_acknowledged",
        incident=ack.incident_key,
        priority=f"P{ack.priority}",
        seconds=round(ack.seconds, 1),
    )
    for observe in observers:
        try:
            observe(ack)
        except Exception:  # a metrics hook must not stop deliveries
            log.exception("ack_observer_failed", incident=ack.incident_key)


class Worker:
    """``start()`` / ``await stop()`` in the daemon; ``notify()`` after enqueueing."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        adapter: Adapter,
        *,
        lock: threading.Lock | None = None,
        clock: Callable[[], float] = time.time,
        concurrency: int = 8,
        retry: RetryPolicy | None = None,
        poll_interval: float = 1.0,
        create_settle: float | None = None,
        rng: random.Random | None = None,
        ack_observers: Sequence[Callable[[outbox.Ack], None]] = (),
    ) -> None:
        self.conn, self.adapter, self.clock = conn, adapter, clock
        self.lock = lock or threading.Lock()
        self.concurrency = concurrency
        self.retry = retry or RetryPolicy()
        self.poll_interval = poll_interval
        # an action whose earlier attempt was cut short by a crash may still be queued or
        # running at the desk (a request sits in the server's backlog after the client
        # died): it waits this long after that attempt started before the desk is asked
        # whether it has it (default: twice the adapter's request timeout)
        self.create_settle = create_settle
        self.rng = rng or random.Random()
        self.stats = WorkerStats()
        # told once per acknowledged ticket (here when an SLA check finds it taken, and
        # by the AckPoller): the time-to-acknowledge histogram of /metrics
        self.ack_observers: list[Callable[[outbox.Ack], None]] = list(ack_observers)
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._desk_failing = False  # set by a backoff retry; the next success releases others
        self._pruned_at = 0.0

    def notify(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="ticket-outbox")

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop picking new actions; wait for the ones in flight (they stay queued if cut)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout)
        for task in self._inflight.values():
            task.cancel()
        await self.adapter.aclose()

    async def run(self) -> None:
        while not self._stopping:
            self.dispatch()
            self._prune()
            await self._sleep()
        if self._inflight:
            await asyncio.wait(list(self._inflight.values()))

    def dispatch(self) -> int:
        """Start deliveries for the due head actions; returns how many started."""
        room = self.concurrency - len(self._inflight)
        if room <= 0:
            return 0
        with self.lock:
            heads = outbox.due_heads(self.conn, self.clock(), set(self._inflight), room)
        for q in heads:
            key = q.action.incident_key
            task = asyncio.create_task(self._deliver(q), name=f"ticket:{key}")
            self._inflight[key] = task
            task.add_done_callback(self._done_callback(key))
        return len(heads)

    def _prune(self) -> None:
        now = self.clock()
        if now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        with self.lock, outbox.transaction(self.conn):
            outbox.prune_done(self.conn, now - KEEP_DONE)

    def _done_callback(self, key: str) -> Callable[[asyncio.Task[None]], None]:
        return lambda _task: self._done(key)

    def _done(self, key: str) -> None:
        self._inflight.pop(key, None)
        self._wake.set()

    async def _sleep(self) -> None:
        """Until a delivery ends, notify(), the next eligible head falls due, or a poll."""
        delay = self.poll_interval
        if len(self._inflight) < self.concurrency:
            with self.lock:
                due = outbox.next_head_due(self.conn, set(self._inflight))
            if due is not None:
                delay = min(delay, max(0.0, due - self.clock()))
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), max(delay, 0.005))

    async def drain(self, timeout: float) -> bool:
        """Deliver until nothing is due (tests, shutdown); True when the outbox is empty."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            started = self.dispatch()
            if not started and not self._inflight:
                with self.lock:
                    if outbox.next_due(self.conn) is None:
                        return True
                await asyncio.sleep(0.01)
                continue
            if self._inflight:
                await asyncio.wait(list(self._inflight.values()), timeout=0.1)
        return False

    async def _deliver(self, q: QueuedAction) -> None:
        action = q.action
        if not self._settled(q):
            return
        with self.lock:
            ticket_id = outbox.mapped_ticket(self.conn, action.incident_key)
            with outbox.transaction(self.conn):
                outbox.mark_started(self.conn, q.id, self.clock())
        unknown = q.attempt_started is not None  # an earlier attempt ended without an answer
        try:
            result = await self._send(q, ticket_id, unknown)
        except RetryableError as exc:
            self._retry(q, exc)
        except DeskError as exc:
            self._park(q, exc)
        except Exception as exc:  # an adapter bug must not kill the worker
            log.exception("ticket_action_crashed", action_id=q.id, incident=action.incident_key)
            self._retry(q, RetryableError(f"internal error: {exc!r}"))
        else:
            self._delivered(q, result)

    async def _send(self, q: QueuedAction, ticket_id: str | None, unknown: bool) -> Delivery:
        """Deliver; a file never blocks its ticket: refused -> the action again without it."""
        action, outcome, why = self._for_desk(q)
        try:
            result = await deliver(self.adapter, action, ticket_id, check_first=unknown)
        except RetryableError:
            raise
        except DeskError as exc:
            if not action.attachments:
                raise
            action = attachments.without(action, f"{self.adapter.name} refused it")
            # refused again without the file: not the file's fault; that error parks it
            result = await deliver(self.adapter, action, ticket_id, check_first=unknown)
            outcome, why = "failed", f"{self.adapter.name} refused it: {exc.reason}"
        self._count_files(q, outcome, why)
        return result

    def _for_desk(self, q: QueuedAction) -> tuple[TicketAction, str, str]:
        """The action as this desk gets it (without files it cannot take or keeps failing
        on), what becomes of its files if it is delivered (sent, unsupported, failed), why."""
        action, name = q.action, self.adapter.name
        if not action.attachments:
            return action, "sent", ""
        if not self.adapter.takes_attachments:
            why = attachments.unsupported(name)
            return attachments.without(action, why), "unsupported", why
        if q.attempts >= ATTACH_TRIES and _desk_answered(q.last_error):
            bare = attachments.without(action, f"{q.attempts} attempts with it failed")
            return bare, "failed", f"{q.attempts} attempts failed: {q.last_error}"
        return action, "sent", ""

    def _count_files(self, q: QueuedAction, outcome: str, why: str) -> None:
        """Count the delivered action's files by outcome; a failed one is logged."""
        n = len(q.action.attachments)
        if not n:
            return
        counts = self.stats.attachments
        self.stats.attachments = {**counts, outcome: counts.get(outcome, 0) + n}
        if outcome == "failed":
            log.error(
                "ticket_attachment_failed",
                action_id=q.id,
                incident=q.action.incident_key,
                attachments=[a.name for a in q.action.attachments],
                reason=why,
                note="the ticket went without it; its text says so when it was created now",
            )

    def _settled(self, q: QueuedAction) -> bool:
        if q.attempt_started is None:
            return True
        settle = self.create_settle
        if settle is None:
            timeout = getattr(getattr(self.adapter, "settings", None), "timeout", 10.0)
            settle = 2.0 * float(timeout)
        ready_at = q.attempt_started + settle  # an attempt was cut short by a crash
        if self.clock() >= ready_at:
            return True
        log.info("ticket_action_settling", action_id=q.id, until=ready_at)
        with self.lock, outbox.transaction(self.conn):
            self.conn.execute(
                "UPDATE ticket_outbox SET next_attempt = ? WHERE id = ?", (ready_at, q.id)
            )
        return False

    def _delivered(self, q: QueuedAction, result: Delivery) -> None:
        with self.lock, outbox.transaction(self.conn):
            ack = outbox.mark_done(
                self.conn,
                q,
                self.clock(),
                backend=self.adapter.name,
                ticket_id=result.ticket_id,
                acked=result.acknowledged,
            )
            if self._desk_failing:
                self._desk_failing = False
                released = outbox.release_backoff(self.conn, self.clock())
                log.info("ticket_desk_recovered", released=released)
        if ack is not None:
            notify_ack(self.ack_observers, ack)
        kind = str(q.action.kind)
        self.stats.delivered += 1
        self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1
        if result.acknowledged:
            self.stats.acknowledged_skips += 1
        elif q.action.kind is ActionKind.ESCALATE:
            rule = q.action.incident_key.split(":", 1)[0]
            counts = self.stats.escalations_by_rule
            self.stats.escalations_by_rule = {**counts, rule: counts.get(rule, 0) + 1}
        log.info(
            "ticket_action_delivered",
            action_id=q.id,
            kind=kind,
            incident=q.action.incident_key,
            ticket=result.ticket_id,
            acknowledged=result.acknowledged,
        )

    def _retry(self, q: QueuedAction, exc: RetryableError) -> None:
        delay = self.retry.delay(q.attempts + 1, exc.retry_after, self.rng)
        with self.lock, outbox.transaction(self.conn):
            outbox.mark_retry(
                self.conn,
                q.id,
                self.clock() + delay,
                exc.reason,
                maybe_delivered=exc.maybe_delivered,
            )
        self.stats.retried += 1
        self._desk_failing = self._desk_failing or exc.retry_after is None
        self.stats.last_error = exc.reason
        log.warning(
            "ticket_action_retry",
            action_id=q.id,
            incident=q.action.incident_key,
            attempt=q.attempts + 1,
            delay=round(delay, 3),
            reason=exc.reason,
        )

    def _park(self, q: QueuedAction, exc: DeskError) -> None:
        with self.lock, outbox.transaction(self.conn):
            outbox.mark_parked(self.conn, q.id, exc.reason)
        self.stats.parked += 1
        self.stats.last_error = exc.reason
        log.error(
            "ticket_action_parked",
            action_id=q.id,
            incident=q.action.incident_key,
            reason=exc.reason,
            hint="see `gatewatch outbox list`; fix the cause, then `gatewatch outbox retry ID`",
        )
