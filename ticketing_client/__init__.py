"""Durable outbox, ticket lifecycle and service-desk adapters.

The daemon's API:
    conn = connect_state(state_db)                      # one connection per process
    with transaction(conn):                             # with the alert state change
        enqueue(conn, event)
    worker = Worker(conn, build_adapter(name, options, AdapterContext(conn, lock)), lock=lock)
    worker.start(); worker.notify() after each commit
    every few seconds: with transaction(conn): enqueue_due_escalations(conn, clock())
    on SIGTERM: await worker.stop()
"""

from gatewatch.ticketing_client.actions import ActionKind, QueuedAction, TicketAction
from gatewatch.ticketing_client.adapters import ADAPTERS, AdapterContext, build_adapter
from gatewatch.ticketing_client.outbox import enqueue, enqueue_due_escalations, transaction
from gatewatch.ticketing_client.schema import connect_state, ensure_schema
from gatewatch.ticketing_client.worker import Worker

__all__ = [
    "ADAPTERS",
    "ActionKind",
    "AdapterContext",
    "QueuedAction",
    "TicketAction",
    "Worker",
    "build_adapter",
    "connect_state",
    "enqueue",
    "enqueue_due_escalations",
    "ensure_schema",
    "transaction",
]
