from __future__ import annotations

import pytest
from gatewatch.sensors.mapping.model import Mapping, MappingSet
from gatewatch.sensors.mapping.topic import (
    MappingTopic,
    MappingTopicError,
    covers,
    minimal_subscriptions,
)


def test_fields_wildcards_and_subscription() -> None:
    t = MappingTopic.parse("{asset}/binary_sensor/{metric}/state")
    assert t.subscription == "+/binary_sensor/+/state"
    assert t.match("lobby/binary_sensor/door/state") == {"asset": "lobby", "metric": "door"}
    assert t.match("lobby/sensor/door/state") is None
    assert t.match("lobby/binary_sensor/door") is None


def test_hash_takes_the_rest_and_plus_skips_a_segment() -> None:
    assert MappingTopic.parse("tele/{asset}/#").match("tele/plug-1/SENSOR") == {"asset": "plug-1"}
    ha = MappingTopic.parse("homeassistant/+/{asset}/state")
    assert ha.match("homeassistant/sensor/temp/state") == {"asset": "temp"}


def test_a_typo_in_a_field_says_did_you_mean() -> None:
    with pytest.raises(
        MappingTopicError, match=r"unknown field \{metirc\}.*did you mean \{metric\}"
    ):
        MappingTopic.parse("building/{asset}/{metirc}")


@pytest.mark.parametrize(
    "bad", ["a/#/b", "{site}/x", "a/b{asset}", "/x/{asset}", "{asset}/{asset}"]
)
def test_bad_patterns_are_refused(bad: str) -> None:
    with pytest.raises(MappingTopicError):
        MappingTopic.parse(bad)


def _m(name: str, pattern: str) -> Mapping:
    return Mapping(name, MappingTopic.parse(pattern), "test:1")


def test_the_most_specific_pattern_wins_then_the_first_declared() -> None:
    maps = MappingSet(
        (
            _m("esphome", "{asset}/sensor/{metric}/state"),
            _m("statestream", "homeassistant/sensor/{asset}/state"),
            _m("any", "homeassistant/{asset}/#"),
            _m("first", "x/{asset}"),
            _m("second", "x/{asset}"),
        )
    )
    found = maps.find("homeassistant/sensor/temp/state")
    assert found is not None and found[0].name == "statestream"
    found = maps.find("node/sensor/temp/state")
    assert found is not None and found[0].name == "esphome"
    found = maps.find("x/dev")
    assert found is not None and found[0].name == "first"
    assert maps.find("nothing/here/at/all/really") is None
    assert maps.subscriptions[:2] == ("+/sensor/+/state", "homeassistant/sensor/+/state")


def test_subscriptions_covered_by_another_are_dropped() -> None:
    filters = ["+/switch/+/state", "homeassistant/switch/+/state", "a/#", "a/b/c", "a/#", "x/+"]
    assert minimal_subscriptions(filters) == ["+/switch/+/state", "a/#", "x/+"]
    assert covers("a/+/c", "a/+/c") and covers("#", "a/b") and not covers("a/+", "a/#")
    assert not covers("a/+", "a/b/c") and not covers("a/b", "a/+")
