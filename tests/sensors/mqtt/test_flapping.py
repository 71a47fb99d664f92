"""FlapGuard: a takeover loop backs off and is reported once per episode."""

from __future__ import annotations

from gatewatch.sensors.mqtt.flapping import FlapGuard


def test_takeover_loop_backs_off_exponentially_and_starts_one_episode() -> None:
    g = FlapGuard(base=0.2, cap=30.0, stable_after=60.0)
    now, delays, starts = 0.0, [], []
    for _ in range(10):
        g.connected(now)
        now += 0.5  # the other gateway takes the session over half a second later
        delay, started = g.lost(now, taken_over=True)
        delays.append(delay)
        starts.append(started)
        now += delay
    assert starts == [True] + [False] * 9
    assert delays[:4] == [0.4, 0.8, 1.6, 3.2]
    assert max(delays) == 30.0 and delays[-1] == 30.0
    assert g.takeovers == 10 and g.flapping


def test_a_stable_connection_ends_the_episode() -> None:
    g = FlapGuard(base=0.2, cap=30.0, stable_after=60.0)
    for t in (0.0, 1.0):
        g.connected(t)
        g.lost(t + 0.1, taken_over=True)
    g.connected(10.0)
    assert g.lost(100.0, taken_over=False) == (0.2, False)
    assert not g.flapping and g.flaps == 0


def test_one_short_connection_is_not_a_loop_but_repeated_drops_are() -> None:
    """MQTT 3.1.1 has no DISCONNECT from the broker: repeated immediate drops are the sign."""
    g = FlapGuard(base=0.2, cap=30.0, stable_after=60.0)
    g.connected(0.0)
    assert g.lost(0.3, taken_over=False) == (0.2, False)
    g.connected(1.0)
    delay, started = g.lost(1.3, taken_over=False)
    assert started and delay == 0.8 and g.flapping and g.takeovers == 0
