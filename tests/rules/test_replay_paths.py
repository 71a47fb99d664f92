"""replay and replay_history, one tick loop over batches cut by bisection, give exactly
what a loop of one reading at a time with a tick at every interval gives: sorted or
not, from a list, an iterator or stored history in chunks of any size."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from gatewatch.core.events import AlertEvent
from gatewatch.core.reading import Reading
from gatewatch.daemon.bench.rules import readings, world
from gatewatch.rules.engine import Engine
from gatewatch.rules.replay import History, replay, replay_history

W = world(40, 200)


def run(data: Any, start: float, until: float) -> tuple[list[AlertEvent], list[float]]:
    ticks: list[float] = []
    engine = Engine(W.rules, W.assets, default_site="hq")
    events = replay(engine, data, start=start, until=until, tick=10.0, on_tick=ticks.append)
    return events, ticks


def sample(step: float) -> list[Reading]:
    # step 2.5 s: every 4th reading lands exactly on a tick, silent gaps make stale alerts
    data = readings(W.series, 20_000, 1_700_000_000.0, step)
    return [r for i, r in enumerate(data) if (i // 2000) % 3 != 1]


def one_at_a_time(
    data: list[Reading], start: float, until: float
) -> tuple[list[AlertEvent], list[float]]:
    """The reference: each reading alone, every tick before it first, up to ``until``."""
    engine = Engine(W.rules, W.assets, default_site="hq")
    out, clock, ticks = [], start, []
    for r in data:
        if r.ts > until:
            break
        while clock < r.ts:
            out += engine.tick(clock)
            ticks.append(clock)
            clock += 10.0
        out += engine.process([r])
    while clock <= until:
        out += engine.tick(clock)
        ticks.append(clock)
        clock += 10.0
    return out, ticks


def test_a_list_and_an_iterator_equal_one_reading_at_a_time_with_ties_and_gaps() -> None:
    data = sample(2.5)
    start, until = data[0].ts - 15.0, data[-1].ts - 7.5  # the tail after until is dropped
    expected = one_at_a_time(data, start, until)
    assert run(data, start, until) == expected
    assert run(iter(data), start, until) == expected  # taken in chunks
    assert any(e.rule_id == "r3" for e in expected[0])  # the stale rule fired in a gap


def test_readings_out_of_order_join_the_batch_they_come_in() -> None:
    data = sample(0.5)
    data[100], data[101] = data[101], data[100]
    data[5000], data[5040] = data[5040], data[5000]  # 20 s apart: across two ticks
    start, until = data[0].ts, data[-1].ts + 30.0
    expected = one_at_a_time(data, start, until)
    assert run(data, start, until) == expected
    assert run(iter(data), start, until) == expected
    assert expected[0]  # something happened


def history(data: list[Reading], chunk: int) -> History:
    keys = {
        key: i for i, key in enumerate(dict.fromkeys((r.site, r.asset, r.metric) for r in data))
    }
    rows = [(keys[(r.site, r.asset, r.metric)], r.ts, r.value) for r in data]
    chunks = (rows[i : i + chunk] for i in range(0, len(rows), chunk))
    return History({i: key for key, i in keys.items()}, chunks)


@pytest.mark.parametrize("chunk", [1, 7, 1000, 100_000])
def test_stored_history_in_chunks_equals_the_reading_loop(chunk: int) -> None:
    data = sample(2.5)  # and a second site, interleaved, goes silent for a while:
    data = [
        dataclasses.replace(r, site="annex") if i % 3 == 0 and i < 9000 else r
        for i, r in enumerate(data)
    ]
    start, until = data[0].ts - 15.0, data[-1].ts - 7.5  # the tail after until is dropped
    engine = Engine(W.rules, W.assets, default_site="hq")
    ticks: list[float] = []
    keyed = replay_history(
        engine, history(data, chunk), start=start, until=until, tick=10.0, on_tick=ticks.append
    )
    events, loop_ticks = one_at_a_time(data, start, until)
    assert keyed == events
    assert ticks == loop_ticks
    assert engine.stats["readings"] == sum(r.ts <= until for r in data)
    assert len(keyed) > 20 and any(e.rule_id == "r3" for e in keyed)
    assert any(e.site == "annex" for e in keyed)


def test_batches_of_two_sites_equal_one_reading_at_a_time() -> None:
    data = [  # the annex clock runs 3 s behind: time goes back at each change of site
        dataclasses.replace(r, site="annex", ts=r.ts - 3.0) if i % 3 and i < 9000 else r
        for i, r in enumerate(sample(2.5))
    ]
    start, until = data[0].ts - 10.0, data[-1].ts + 900.0  # annex goes silent first: stale
    alone, _ = one_at_a_time(data, start, until)
    assert run(data, start, until)[0] == alone
    assert any(e.site == "annex" for e in alone) and any(e.site == "hq" for e in alone)
