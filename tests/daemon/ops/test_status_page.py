"""The status page at / : rendering (escaping, sparklines) and a real `gatewatch run`."""

from __future__ import annotations

import base64
import re
import urllib.request
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from browser import chromium_dom
from gatewatch.anomaly.wear.plot import trend_png
from gatewatch.anomaly.wear.zones import ZoneLimits
from gatewatch.daemon.config.assets import load_assets
from gatewatch.daemon.ops.status_page import (
    Alert,
    Note,
    Spark,
    StatusData,
    Ticket,
    read_tickets,
    render,
    sparkline,
)
from gatewatch.ticketing_client.schema import connect_state
from gateway_process import Gateway, wait_for
from servers import Mosquitto, publish_many

CONFIG = Path(__file__).parents[3] / "config"
LIMITS = ZoneLimits(1.12, 2.8, 7.1)
EVIL = '<script>alert("x")</script>'


def test_every_value_is_escaped() -> None:
    data = StatusData(
        site=f"hq{EVIL}",
        now=1_700_000_000.0,
        assets=load_assets(CONFIG / "assets.yaml"),
        alerts=(Alert(f"rule:{EVIL}", "firing", 1_700_000_000.0),),
        tickets=(
            Ticket(
                "7",
                f"k{EVIL}",
                f"subject {EVIL}",
                1,
                "new",
                "local",
                (Note(1_700_000_000.0, "comment", f"note {EVIL}"),),
            ),
        ),
        sparks=(Spark(f"pump{EVIL}", f"m{EVIL}", f"u{EVIL}", (1.0, 2.0)),),
    )
    html = render(data)
    assert "<script" not in html
    assert html.count("&lt;script&gt;") == 9  # site x2, alert, ticket x3, spark x3
    assert "Passenger lift A1" in html and "local #7" in html and "P1" in html


def test_sparkline_spans_the_box_from_lowest_to_highest() -> None:
    svg = sparkline([5.0, 1.0, 3.0], width=100, height=24)
    points = re.search(r'points="([^"]+)"', svg)
    assert points is not None
    assert points.group(1) == "0.0,2.0 50.0,22.0 100.0,12.0"
    assert sparkline([]) == ""
    assert 'points="0.0,22.0"' in sparkline([4.0])  # one reading: a dot at the bottom


def fetch(url: str) -> tuple[int, dict[str, str], str]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return int(resp.status), dict(resp.headers), resp.read().decode()


@pytest.mark.slow
def test_status_page_lists_the_ticket_of_a_rope_break(tmp_path: Path, mosquitto: Mosquitto) -> None:
    gw = Gateway(tmp_path, mosquitto.port)
    gw.write_config(f"rules: {{paths: [{CONFIG / 'rules'}], tick_every_s: 0.2}}\n")
    gw.start().wait_http()
    try:
        publish_many(
            mosquitto.port,
            [("building/hq/lift-a1/speed", b"1.5"), ("building/hq/lift-a1/rope_break", b"1")],
        )
        created = 'gatewatch_ticket_actions_delivered_total{adapter="local",kind="create"}'
        # generous: the gateway shares a loaded CI machine; more than one would fail below
        wait_for(lambda: gw.metrics().get(created, 0) >= 1, 60, "the ticket created")
        assert gw.metrics()[created] == 1, gw.log.read_text()[-4000:]
        url = f"http://127.0.0.1:{gw.http_port}/"
        status, headers, html = fetch(url)
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert "ROPE BREAK: Passenger lift A1" in html  # the ticket's subject
        assert "local #1" in html and "<summary>" in html  # with its history
        assert re.search(r"lift-rope-break[^<]*</td><td><span class=\"firing\">", html)
        assert re.search(r"speed <svg class=\"spark\"[^>]*>.*?</svg> 1.5 m/s", html)
        assert "<script" not in html and not re.search(r"\s(src|href)=", html)  # nothing loaded

        dom = chromium_dom(url, tmp_path / "chromium")
        tickets = dom.split('<section id="tickets">')[1].split("</section>")[0]
        assert "ROPE BREAK: Passenger lift A1" in tickets and "local #1" in tickets
    finally:
        assert gw.stop() == 0


def test_tickets_of_other_desks_come_from_the_incident_map(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with closing(connect_state(db)) as conn:
        conn.execute(
            "INSERT INTO ticket_incidents (incident_key, status, priority, opened_at, policy,"
            " title) VALUES ('pump-vibration:hq/pump-1', 'firing', 2, 10.0, '{}', 'Pump 1')"
        )
        conn.execute(
            "INSERT INTO ticket_map VALUES ('pump-vibration:hq/pump-1', 'rt', '4711', 11.0)"
        )
        conn.execute(
            "INSERT INTO local_tickets (incident_key, subject, priority, created, updated)"
            " VALUES ('door:hq/lift-a1', 'Door', 3, 5.0, 5.0)"
        )
        conn.execute("INSERT INTO local_ticket_notes VALUES (1, 6.0, 'comment', 'still open')")
    tickets = {t.backend: t for t in read_tickets(db)}
    assert tickets["rt"] == Ticket("4711", "pump-vibration:hq/pump-1", "Pump 1", 2, "firing", "rt")
    assert tickets["local"].notes == (Note(6.0, "comment", "still open"),)


def test_a_local_tickets_trend_plot_is_shown_inline(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    png = trend_png(
        np.arange(20.0),
        1.6 * np.exp(0.02 * np.arange(20.0)),
        LIMITS,
        slope_per_day=0.02,
        level_now=2.3,
    )
    with closing(connect_state(db)) as conn:
        conn.execute(
            "INSERT INTO local_tickets (incident_key, subject, priority, created, updated)"
            " VALUES ('pump-zone-c-forecast/pump-1', 'Pump 1 heads for zone C', 3, 5.0, 5.0)"
        )
        conn.execute(
            "INSERT INTO local_ticket_attachments (ticket_id, ts, name, content_type, data)"
            " VALUES (1, 5.0, 'trend.png', 'image/png', ?)",
            (png,),
        )
    [ticket] = read_tickets(db)
    assert ticket.images == (("trend.png", png),)
    html = render(StatusData("hq", 10.0, load_assets(CONFIG / "assets.yaml"), (), (ticket,), ()))
    [src] = re.findall(
        r'<img alt="trend.png" title="trend.png" src="data:image/png;base64,([^"]+)"', html
    )
    assert base64.b64decode(src) == png
