"""sensors/backlog.py: the window of a resumed session's backlog, on an injected clock."""

from __future__ import annotations

from gatewatch.sensors.backlog import BacklogReport, BacklogWindow


def test_the_window_closes_at_the_first_quiet_moment_with_what_it_held() -> None:
    w = BacklogWindow(quiet=0.2, longest=60)
    w.open(100.0)
    w.saw(100.01, 1)
    w.saw(100.02, 0)  # a message with a payload time: nothing to mark
    assert w.close_if_quiet(100.3, idle=False) is None  # still writing: not quiet
    assert w.close_if_quiet(100.1, idle=True) is None  # idle, but a message came 0.08 s ago
    assert w.active
    assert w.close_if_quiet(100.3, idle=True) == BacklogReport(2, 1, 0.3)
    assert not w.active and w.close_if_quiet(101, idle=True) is None


def test_a_site_whose_traffic_never_pauses_closes_it_after_the_longest() -> None:
    w = BacklogWindow(quiet=0.2, longest=60)
    w.open(0.0)
    for i in range(599):
        w.saw(i / 10, 1)
        assert w.close_if_quiet(i / 10, idle=False) is None
    report = w.close_if_quiet(60.0, idle=False)
    assert report is not None and report.readings_marked == 599


def test_a_reconnect_inside_the_window_keeps_it_open_and_counting() -> None:
    w = BacklogWindow(quiet=0.2, longest=60)
    w.open(0.0)
    w.saw(0.1, 3)
    w.open(5.0)
    w.saw(5.1, 2)
    assert w.close(6.0) == BacklogReport(2, 5, 6.0)
