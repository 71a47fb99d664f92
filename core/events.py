"""The contract between the rule engine and the ticketing client.

The engine emits AlertEvent values; ticketing_client turns them into ticket
actions according to the rule's TicketPolicy. Frozen, slotted, pure data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from gatewatch.core.assets import Asset


class EventKind(StrEnum):
    FIRED = "fired"  # pending -> firing (or still firing when a silence/window ends)
    UPDATED = "updated"  # still firing: emitted every policy.update_interval (event time)
    RESOLVED = "resolved"  # firing -> inactive after clear level / clear_for
    ESCALATED = "escalated"  # the engine raised the priority (e.g. repetition grew)


@dataclass(frozen=True, slots=True)
class Escalation:
    """What to do when a ticket is not acknowledged within the SLA (once per level)."""

    after: float  # seconds after creation without acknowledgement
    raise_priority_to: int | None = None  # e.g. 1
    queue: str | None = None  # supervisor queue / group
    comment: str = ""


@dataclass(frozen=True, slots=True)
class TicketPolicy:
    update_interval: float | None = None  # seconds between update comments while firing
    escalations: tuple[Escalation, ...] = ()
    resolve_on_clear: bool = True  # else leave open with a recovery comment
    reopen_window: float = 86_400.0  # firing again within this after resolve -> reopen
    escalate_after_reopens: int = 2  # DESIGN.md incident 6


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file for the ticket, e.g. the trend plot of a predictive alert.

    The rule engine never makes one: the daemon adds them to an event (from anomaly/'s
    evidence) before the event reaches the ticketing outbox, which stores the bytes with
    the create action in state.db.
    """

    name: str  # file name at the desk, e.g. "trend.png"
    content_type: str  # e.g. "image/png"
    data: bytes = field(repr=False)
    description: str = "attachment"  # what it is, for notes: "trend plot"


Renderer = Callable[[], tuple[str, str]]


class EventText:
    """An event's ticket title and body: plain text, or rendered on first use.

    The engine makes every event, but a backtest only counts them: rendering the
    rule's templates is left to whoever reads ``title`` or ``body``. The renderer
    must be pure (the same text whenever it runs); it is called at most once and
    then dropped. Two texts are equal iff their title and body are.
    """

    __slots__ = ("_render", "_text")

    def __init__(self, render: Renderer) -> None:
        self._render: Renderer | None = render
        self._text: tuple[str, str] | None = None

    @classmethod
    def plain(cls, title: str, body: str) -> EventText:
        text = cls.__new__(cls)
        text._render, text._text = None, (title, body)
        return text

    @property
    def pair(self) -> tuple[str, str]:
        """(title, body), rendered now if not yet."""
        text = self._text
        if text is None:
            assert self._render is not None
            text = self._text = self._render()
            self._render = None  # a benign race: two threads would render the same text
        return text

    @property
    def title(self) -> str:
        return self.pair[0]

    @property
    def body(self) -> str:
        return self.pair[1]

    @property
    def rendered(self) -> bool:
        return self._text is not None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EventText):
            return NotImplemented
        return self is other or self.pair == other.pair

    def __hash__(self) -> int:
        return hash(self.pair)

    def __repr__(self) -> str:
        return f"EventText(title={self.title!r}, body={self.body!r})"

    def __reduce__(self) -> tuple[Callable[[str, str], EventText], tuple[str, str]]:
        return EventText.plain, self.pair  # the renderer (rule, context) stays behind


@dataclass(frozen=True, slots=True)
class AlertEvent:
    kind: EventKind
    incident_key: str  # stable: rule id + series or group key; the desk stores it
    rule_id: str
    priority: int  # 1 (critical) .. 4
    text: EventText  # title and body; EventText.plain(title, body) for ready text
    ts: float  # event time (epoch seconds)
    since: float  # firing since
    asset: Asset | None = None  # the asset card for the ticket
    site: str = ""
    metric: str | None = None
    value: float | None = None
    threshold: float | None = None
    unit: str | None = None
    trend_per_min: float | None = None
    potentially_critical: bool = False  # repetition (DESIGN.md incident 3)
    predictive: bool = False  # from anomaly/ (DESIGN.md incident 7)
    related: tuple[str, ...] = ()  # incident keys of grouped occurrences
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    policy: TicketPolicy = field(default_factory=TicketPolicy)
    attachments: tuple[Attachment, ...] = ()  # set by the daemon, never by rules/

    @property
    def title(self) -> str:
        return self.text.title

    @property
    def body(self) -> str:
        return self.text.body

    def __post_init__(self) -> None:
        if not 1 <= self.priority <= 4:
            raise ValueError(f"priority must be 1..4, got {self.priority}")
        if not self.incident_key:
            raise ValueError("incident_key must not be empty")
