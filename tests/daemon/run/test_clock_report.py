"""ClockReport: totals for /metrics; a line the first time, then at most one per interval."""

from __future__ import annotations

from gatewatch.daemon.run.clock_report import ClockReport
from structlog.testing import capture_logs


def test_logs_the_first_drop_then_once_per_interval_with_the_count_since() -> None:
    now = [0.0]
    report = ClockReport(every=3600, clock=lambda: now[0])
    with capture_logs() as logs:
        report.update({"out_of_order": 1, "clock_steps": 0}, None)
        now[0] = 10
        report.update({"out_of_order": 5, "clock_steps": 0}, None)  # quiet: too soon
        now[0] = 3601
        report.update({"out_of_order": 6, "clock_steps": 1}, ("hq/a/t", 100.0, 40.0))
    assert [(e["event"], e.get("readings")) for e in logs] == [
        ("readings_out_of_order", 1),
        ("readings_out_of_order", 5),  # the 5 since the first line
        ("clock_step", None),
    ]
    assert logs[2]["step_s"] == -60.0 and logs[2]["series"] == "hq/a/t"
    assert report.totals == {"out_of_order": 6, "clock_steps": 1}
