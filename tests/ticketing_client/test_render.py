from __future__ import annotations

from dataclasses import replace

from gatewatch.core.events import EventKind, TicketPolicy
from gatewatch.ticketing_client import render
from ticket_events import T0, server_room


def test_title_says_what_and_where() -> None:
    title = render.title(server_room())
    assert title.startswith("[P1] Server room temperature above 27 C")
    assert "Server room A (HQ, floor 3, room 3.14)" in title


def test_body_has_asset_card_since_value_trend_and_next_update() -> None:
    body = render.body(server_room())
    assert "What: Cooling has stopped" in body
    assert "Building: HQ / Floor: 3 / Room: 3.14" in body
    assert "Responsible: CoolAir GmbH (contractor), contact +49 30 1234 567" in body
    assert "Maintenance checklist: https://wiki.example.org/checklists/server-room-cooling" in body
    assert f"Since: {render.clock_text(T0 - 120)}" in body
    assert "Current value: temperature: 31.2 C (threshold 27 C)" in body
    assert "Trend: rising 0.4 C/min" in body
    assert f"Next update: by {render.clock_text(T0 + 900)} (every 15 min while firing)" in body
    assert "Incident key: server-room-hot/srv-room-a" in body


def test_body_without_periodic_updates_says_when_the_next_note_comes() -> None:
    event = server_room(policy=TicketPolicy(update_interval=None))
    assert "Next update: when the condition clears" in render.body(event)


def test_update_text_matches_the_desk_example() -> None:
    text = render.update_text(server_room(EventKind.UPDATED, value=33.8))
    assert text.startswith("Still firing: 33.8 C (threshold 27 C), rising 0.4 C/min.")


def test_repetition_is_marked_and_links_occurrences() -> None:
    event = replace(
        server_room(), potentially_critical=True, related=("door/f3/1", "door/f3/2", "door/f3/3")
    )
    body = render.body(event, {"door/f3/1": "17"})
    assert render.title(event).startswith("[P1] POTENTIALLY CRITICAL: ")
    assert "Repeated 3 times; occurrences:" in body
    assert "  - door/f3/1 (ticket 17)" in body
    assert "  - door/f3/3" in body


def test_falling_and_steady_trends() -> None:
    assert render.trend_text(server_room(trend_per_min=-0.25)) == "falling 0.25 C/min"
    assert render.trend_text(server_room(trend_per_min=0.0)) == "steady"
