"""A clock step back never blinds a rule; a straggler is dropped and counted."""

from __future__ import annotations

from gatewatch.rules.engine import CLOCK_STEP_S, Engine
from rulehelpers import engine, kinds, r

T = 1_764_000_000.0
YEAR = 365 * 86_400.0
HOT = """
rules:
  - id: hot
    select: {asset: server-room-1, metric: temperature}
    when: {above: 27, clear: 25}
    priority: P3
"""
RISING = """
rules:
  - id: heating
    select: {asset: server-room-1, metric: temperature}
    when: {rate_above: 1, window: 5m}
    priority: P3
"""


def temp(ts: float, value: float) -> list:  # type: ignore[type-arg]
    return [r("server-room-1", "temperature", ts, value)]


def test_a_reading_an_hour_back_is_a_clock_step_and_still_fires() -> None:
    e = engine(HOT)
    assert e.process(temp(T, 20)) == []
    assert kinds(e.process(temp(T - 3600, 30))) == [("fired", T - 3600)]
    assert e.stats["clock_steps"] == 1 and e.stats["out_of_order"] == 0
    assert e.last_step == ("hq/server-room-1/temperature", T, T - 3600)
    assert kinds(e.process(temp(T - 3590, 20))) == [("resolved", T - 3590)]  # on from there


def test_a_straggler_is_dropped_and_counted() -> None:
    e = engine(HOT)
    e.process(temp(T, 20))
    assert e.process(temp(T - CLOCK_STEP_S / 2, 30)) == []
    assert (e.stats["out_of_order"], e.stats["clock_steps"]) == (1, 0)
    assert kinds(e.process(temp(T + 1, 30))) == [("fired", T + 1)]  # the series is intact


def test_state_saved_two_years_ahead_does_not_blind_the_rules_after_the_correction() -> None:
    ahead = engine(HOT)
    ahead.process(temp(T + 2 * YEAR, 20))  # the gateway clock ran two years ahead
    saved = ahead.export_state()
    e = engine(HOT)
    e.restore_state(saved)
    assert kinds(e.process(temp(T, 30))) == [("fired", T)]
    assert e.stats["clock_steps"] == 1


def test_the_history_starts_over_so_a_rate_is_not_judged_across_the_step() -> None:
    e: Engine = engine(RISING)
    e.process(temp(T, 20) + temp(T + 60, 20.5))
    # an hour back, rising 2 C/min: a rate over the step would be nonsense (negative span)
    assert e.process(temp(T - 3600, 21)) == []
    assert kinds(e.process(temp(T - 3540, 23))) == [("fired", T - 3540)]


HOT_FOR = HOT.replace("priority: P3", "for: 2m\n    priority: P3")
SILENT = """
rules:
  - id: quiet
    select: {asset: server-room-1, metric: temperature}
    when: {no_data_for: 5m}
    priority: P3
"""


def test_a_gateway_clock_step_back_keeps_a_pending_for_its_length() -> None:
    e = engine(HOT_FOR)
    e.process(temp(T, 30), now=T)  # pending since T (receive time: the gateway's clock)
    e.tick(T + 60)
    back = T + 60 - 3600  # NTP steps the gateway clock back an hour
    assert e.tick(back) == []  # the first tick after the step sees it
    assert e.tick(back + 59) == []
    assert kinds(e.tick(back + 60)) == [("fired", back + 60)]  # 2 min after it began
    assert e.stats["clock_steps"] == 1 and e.last_step == ("gateway clock", T + 60, back)


def test_a_gateway_clock_step_back_keeps_stale_checks_on_time() -> None:
    e = engine(SILENT)
    e.tick(T)
    e.process(temp(T, 20), now=T)
    back = T - 3600
    assert e.tick(back) == []
    e.process([r("server-room-1", "humidity", back + 200, 40)], now=back + 200)  # site alive
    assert e.tick(back + 299) == []
    assert kinds(e.tick(back + 300)) == [("fired", back + 300)]  # 5 min of silence


def test_a_small_gateway_clock_wobble_moves_nothing() -> None:
    e = engine(HOT_FOR)
    e.process(temp(T, 30), now=T)
    assert e.tick(T - 1) == []
    assert kinds(e.tick(T + 120)) == [("fired", T + 120)]
    assert e.stats["clock_steps"] == 0


def test_timers_saved_while_the_gateway_clock_ran_ahead_move_back_at_the_first_tick() -> None:
    ahead = engine(HOT_FOR)
    ahead.process(temp(T + 2 * YEAR, 30), now=T + 2 * YEAR)  # pending, two years ahead
    e = engine(HOT_FOR)
    e.restore_state(ahead.export_state())  # restarted after the clock was corrected
    assert e.tick(T) == []
    assert kinds(e.tick(T + 120)) == [("fired", T + 120)]  # not two years from now
    assert e.stats["clock_steps"] == 1


def test_a_forward_step_told_by_the_daemon_neither_fires_early_nor_reports_stale() -> None:
    boot = 86_400.0  # a box without RTC: 1970 until NTP answers
    e = engine(HOT_FOR + SILENT.replace("rules:\n", ""))
    e.tick(boot)
    e.process(temp(boot, 30), now=boot)  # pending since boot
    e.tick(boot + 60)
    jump = T - boot
    e.clock_stepped(jump)  # NTP: fifty-odd years forward
    assert e.tick(T + 60) == []  # not fired at once, and the room is not "silent since 1970"
    e.process([r("server-room-1", "humidity", T + 61, 40)], now=T + 61)
    assert e.tick(T + 119) == []
    assert kinds(e.tick(T + 120)) == [("fired", T + 120)]  # 2 min after it began
    assert e.stats["clock_steps"] == 1 and e.last_step == ("gateway clock", boot + 60, T + 60)
    e.process(temp(T + 121, 30), now=T + 121)  # in order after the shift: no second step
    assert (e.stats["out_of_order"], e.stats["clock_steps"]) == (0, 1)
