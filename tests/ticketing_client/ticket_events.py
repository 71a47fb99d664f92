"""AlertEvent factories for the ticketing tests: DESIGN.md incidents as values."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from gatewatch.anomaly.wear.plot import trend_png
from gatewatch.anomaly.wear.zones import ZoneLimits
from gatewatch.core.assets import Asset, AssetLocation, Responsible
from gatewatch.core.events import (
    AlertEvent,
    Attachment,
    Escalation,
    EventKind,
    EventText,
    TicketPolicy,
)

ZONES_CLASS_II = ZoneLimits(1.12, 2.8, 7.1)
T0 = 1_764_100_000.0  # 2025-11-25 19:46:40 UTC

SERVER_ROOM = Asset(
    id="srv-room-a",
    asset_class="server_room",
    name="Server room A",
    location=AssetLocation(building="HQ", floor="3", room="3.14"),
    responsible=Responsible(kind="contractor", name="CoolAir GmbH", contact="+49 30 1234 567"),
    checklist_url="https://wiki.example.org/checklists/server-room-cooling",
)
LIFT = Asset(
    id="lift-2",
    asset_class="lift",
    name="Lift 2",
    location=AssetLocation(building="HQ", floor="0", room="shaft B"),
    responsible=Responsible(kind="own", name="Building technician on duty", contact="ext. 4411"),
    checklist_url="https://wiki.example.org/checklists/lift",
)

SERVER_POLICY = TicketPolicy(
    update_interval=15 * 60,
    escalations=(
        Escalation(
            after=7 * 60, raise_priority_to=1, queue="Supervisors", comment="Call the supervisor."
        ),
    ),
    resolve_on_clear=True,
    reopen_window=3600,
    escalate_after_reopens=2,
)
LIFT_POLICY = TicketPolicy(
    update_interval=5 * 60,
    escalations=(Escalation(after=5 * 60, raise_priority_to=1, comment="Lift still unattended."),),
    resolve_on_clear=False,
)


def server_room(
    kind: EventKind = EventKind.FIRED, *, key: str = "server-room-hot/srv-room-a", **kw: object
) -> AlertEvent:
    base = AlertEvent(
        kind=kind,
        incident_key=key,
        rule_id="server-room-hot",
        priority=1,
        text=EventText.plain(
            "Server room temperature above 27 C",
            "Cooling has stopped; temperature is climbing.",
        ),
        ts=T0,
        since=T0 - 120,
        asset=SERVER_ROOM,
        site="hq",
        metric="temperature",
        value=31.2,
        threshold=27.0,
        unit="C",
        trend_per_min=0.4,
        policy=SERVER_POLICY,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def lift(
    kind: EventKind = EventKind.FIRED, *, key: str = "lift-rope/lift-2", **kw: object
) -> AlertEvent:
    base = AlertEvent(
        kind=kind,
        incident_key=key,
        rule_id="lift-rope",
        priority=1,
        text=EventText.plain(
            "Lift rope-break sensor tripped",
            "The rope-break safety sensor reports a trip; the lift is stopped.",
        ),
        ts=T0,
        since=T0,
        asset=LIFT,
        site="hq",
        metric="rope_break",
        value=1.0,
        threshold=0.5,
        policy=LIFT_POLICY,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


PUMP = Asset(
    id="pump-1",
    asset_class="pump",
    name="Pump 1",
    location=AssetLocation(building="HQ", floor="-1", room="plant room"),
    responsible=Responsible(kind="contractor", name="PumpCare", contact="+49 30 555 0101"),
    checklist_url="https://wiki.example.org/checklists/pump",
)


def trend_plot() -> Attachment:
    """A real trend plot (anomaly/wear/plot.py) of a pump rising 2 %/day toward zone C."""
    days = np.arange(20.0)
    levels = 1.6 * np.exp(0.02 * days)
    png = trend_png(days, levels, ZONES_CLASS_II, slope_per_day=0.02, level_now=levels[-1])
    return Attachment("trend.png", "image/png", png, "trend plot")


def pump(
    kind: EventKind = EventKind.FIRED, *, key: str = "pump-zone-c-forecast/pump-1", **kw: object
) -> AlertEvent:
    """DESIGN.md incident 7: a predictive P3 with its trend plot attached (as the daemon does)."""
    base = AlertEvent(
        kind=kind,
        incident_key=key,
        rule_id="pump-zone-c-forecast",
        priority=3,
        text=EventText.plain(
            "Predictive: Pump 1 reaches vibration zone C in 12 days",
            "Vibration RMS 2.3 mm/s, now in ISO 10816 zone B, rising 2 %/day.",
        ),
        ts=T0,
        since=T0 - 2 * 86_400,
        asset=PUMP,
        site="hq",
        metric="days_to_zone_c",
        value=12.0,
        threshold=30.0,
        predictive=True,
        policy=TicketPolicy(resolve_on_clear=False),
        attachments=(trend_plot(),),
    )
    return replace(base, **kw)  # type: ignore[arg-type]
