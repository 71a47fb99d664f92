"""/metrics and /healthz of the rules and ticketing stages in a real `gatewatch run`."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from types import SimpleNamespace

import pytest
from gatewatch.daemon.commands.main import main
from gatewatch.daemon.run.stage_metrics import OutboxHealth, StageCollector, read_figures
from gatewatch.ticketing_client.schema import connect_state
from gatewatch.ticketing_client.worker import WorkerStats
from gateway_process import Gateway, wait_for
from servers import Mosquitto, free_port, publish_many

CONFIG = Path(__file__).parents[3] / "config"


@pytest.mark.slow
def test_a_rope_break_moves_the_alert_and_ticket_figures(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    gw = Gateway(tmp_path, mosquitto.port)
    gw.write_config(f"rules: {{paths: [{CONFIG / 'rules'}], tick_every_s: 0.2}}\n")
    gw.start().wait_http()
    try:
        wait_for(lambda: gw.healthz()[0] == 200, 20, "/healthz 200")
        before = gw.metrics()
        assert before['gatewatch_alerts{state="firing"}'] == 0
        assert before["gatewatch_outbox_pending"] == 0
        assert gw.healthz()[1]["checks"]["outbox"] == {"ok": True, "detail": "0 pending"}

        publish_many(mosquitto.port, [("building/hq/lift-a1/rope_break", b"1")])
        created = 'gatewatch_ticket_actions_delivered_total{adapter="local",kind="create"}'
        wait_for(lambda: gw.metrics().get(created) == 1, 20, "one ticket created")
        m = gw.metrics()
        assert m['gatewatch_alerts{state="firing"}'] == 1
        assert m['gatewatch_alert_events_total{kind="fired"}'] == 1
        assert m["gatewatch_outbox_pending"] == 0
        assert m["gatewatch_outbox_oldest_age_seconds"] == 0
        assert m['gatewatch_tickets_open{priority="P1"}'] == 1
        assert m['gatewatch_ticket_action_failures_total{adapter="local",result="parked"}'] == 0
        assert m['gatewatch_ticket_attachments_total{adapter="local",outcome="sent"}'] == 0
        assert m["gatewatch_rule_evaluation_seconds_count"] >= 1
        assert m["gatewatch_rule_evaluation_seconds_sum"] > 0
        assert gw.healthz()[0] == 200
    finally:
        assert gw.stop() == 0


def test_outbox_check_fails_naming_the_outbox_when_its_oldest_action_is_stuck(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state.db"
    conn = connect_state(db)
    with closing(conn):
        for key, created, state in (
            ("a", 1000.0, "pending"),
            ("a", 1001.0, "pending"),
            ("b", 500.0, "parked"),
            ("b", 400.0, "pending"),
        ):
            conn.execute(
                "INSERT INTO ticket_outbox (incident_key, kind, payload, state, next_attempt,"
                " created) VALUES (?, 'create', '{}', ?, 0, ?)",
                (key, state, created),
            )
    now = [1000.0 + 899]
    health = OutboxHealth(db, stuck_after=900, clock=lambda: now[0])
    assert health.check().ok  # "b" is blocked behind its parked head: not deliverable
    figures = read_figures(db)
    assert (figures.pending, figures.parked, figures.oldest_created) == (3, 1, 1000.0)
    now[0] = 1000.0 + 901
    result = health.check()
    assert not result.ok and result.name == "outbox"
    assert str(db) in result.detail and "901s" in result.detail
    assert "1 parked" in result.detail


def test_outbox_check_fails_when_the_state_db_cannot_be_read(tmp_path: Path) -> None:
    result = OutboxHealth(tmp_path / "missing.db").check()
    assert not result.ok and "missing.db" in result.detail


@pytest.mark.slow
def test_an_unreachable_desk_turns_healthz_503_naming_the_outbox(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    (tmp_path / "secret").write_text("s3cret\n")
    hook = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: every attempt fails
    gw = Gateway(tmp_path, mosquitto.port)
    gw.write_config(
        f"rules: {{paths: [{CONFIG / 'rules'}], tick_every_s: 0.2}}\n"
        "tickets:\n  backend: webhook\n  stuck_after: 2\n  retry: {base: 0.2, cap: 1}\n"
        f"  webhook: {{url: '{hook}', secret_file: {tmp_path / 'secret'}}}\n"
    )
    gw.start().wait_http()
    try:
        wait_for(lambda: gw.healthz()[0] == 200, 20, "/healthz 200")
        publish_many(mosquitto.port, [("building/hq/lift-a1/rope_break", b"1")])
        wait_for(lambda: gw.healthz()[0] == 503, 20, "/healthz 503")
        body = gw.healthz()[1]
        assert body["failing"] == ["outbox"]
        assert "state.db stuck" in body["checks"]["outbox"]["detail"]
        m = gw.metrics()
        assert m["gatewatch_outbox_pending"] == 1
        assert m["gatewatch_outbox_oldest_age_seconds"] > 2
        assert m['gatewatch_ticket_action_failures_total{adapter="webhook",result="retried"}'] >= 1
        assert m['gatewatch_health_check_ok{check="outbox"}'] == 0
    finally:
        assert gw.stop() == 0


def test_attachment_outcomes_are_exported_per_adapter(tmp_path: Path) -> None:
    stats = WorkerStats(attachments={"sent": 3, "failed": 1})
    alerting = SimpleNamespace(alert_counts={}, event_counts={})
    collector = StageCollector(tmp_path / "state.db", "rt", lambda: stats, alerting)  # type: ignore[arg-type]
    [family] = [f for f in collector._deliveries() if f.name == "gatewatch_ticket_attachments"]
    got = {s.labels["outcome"]: s.value for s in family.samples if s.name.endswith("_total")}
    assert got == {"sent": 3, "unsupported": 0, "failed": 1}
    assert {s.labels["adapter"] for s in family.samples} == {"rt"}


ACK = "gatewatch_ticket_time_to_acknowledge_seconds"


@pytest.mark.slow
def test_taking_the_ticket_fills_the_ack_histogram_and_state_gauges_survive_a_restart(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    gw = Gateway(tmp_path, mosquitto.port)
    rules = f"rules: {{paths: [{CONFIG / 'rules'}], tick_every_s: %s}}\n"
    gw.write_config(rules % 0.2 + "tickets: {ack_poll_interval: 0.2}\n")
    gw.start().wait_http()
    try:
        publish_many(mosquitto.port, [("building/hq/lift-a1/rope_break", b"1")])
        wait_for(lambda: gw.metrics().get('gatewatch_tickets_open{priority="P1"}') == 1, 20, "P1")
        assert gw.metrics()[f'{ACK}_count{{priority="P1"}}'] == 0
        assert main(["tickets", "take", "1", "--owner", "alice", "--config", str(gw.config)]) == 0
        wait_for(lambda: gw.metrics()[f'{ACK}_count{{priority="P1"}}'] == 1, 20, "ack seen")
        assert gw.metrics()[f'{ACK}_sum{{priority="P1"}}'] > 0
        assert gw.logged("ticket_acknowledged")
    finally:
        assert gw.stop() == 0
    # restarted with no tick for an hour and no reading: what the gauges show comes from
    # state.db and the restored rule state, not from a fresh zero
    gw.write_config(rules % 3600)
    gw.start().wait_http()
    try:
        m = gw.metrics()
        assert m['gatewatch_alerts{state="firing"}'] == 1
        assert m['gatewatch_tickets_open{priority="P1"}'] == 1
        assert m["gatewatch_outbox_pending"] == 0
        assert m[f'{ACK}_count{{priority="P1"}}'] == 0  # a counter: restarts at zero by design
        with closing(connect_state(gw.workdir / "state" / "state.db")) as conn:
            [(acked_at,)] = conn.execute("SELECT acknowledged_at FROM ticket_incidents")
        assert acked_at is not None  # ...while the acknowledgement itself is kept
    finally:
        assert gw.stop() == 0
