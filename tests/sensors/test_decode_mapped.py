"""sensors/decode.py with mappings: a mapping's topic goes through it first, its fields
are checked against the asset registry, and every field's fate is counted."""

from __future__ import annotations

from collections import Counter

from gatewatch.core.assets import parse_assets
from gatewatch.core.yamlsource import Problem
from gatewatch.daemon.config.mappings import parse_mappings
from gatewatch.sensors.decode import REASONS, PayloadDecoder
from gatewatch.sensors.mapping.model import MappingSet
from gatewatch.sensors.topics import TopicPattern

NOW = 1_765_000_000.0
ASSETS = parse_assets(
    """
assets:
  lift-1:
    class: lift
    metrics:
      load: {unit: kg, min: 0, max: 2000}
""",
    "assets.yaml",
)
MAPS = """\
mappings:
  - name: lift
    topic: "site/{asset}/status"
    fields:
      door: {values: {closed: 0, open: 1, stuck: 2}}
      load: {unit: kg}
      speed: {}
  - name: catch-all
    topic: "building/{site}/{asset}/#"
    unmapped: numbers
"""


def decoder(strict: bool = False) -> PayloadDecoder:
    problems: list[Problem] = []
    maps = MappingSet(tuple(parse_mappings(MAPS, "maps.yaml", problems)))
    assert problems == []
    patterns = [TopicPattern.parse("building/{site}/{asset}/{metric}")]
    return PayloadDecoder(patterns, ASSETS, default_site="hq", strict_assets=strict, mappings=maps)


def test_good_fields_are_stored_and_a_bad_one_dead_lettered_with_its_path() -> None:
    d = decoder()
    out = d.decode(b"site/lift-1/status", b'{"door": "jammed", "load": 640, "speed": 1.5}', NOW)
    assert [(r.asset, r.metric, r.value, r.unit) for r in out.readings] == [
        ("lift-1", "load", 640.0, "kg"),
        ("lift-1", "speed", 1.5, None),
    ]
    (rej,) = out.rejections
    assert rej.reason == "unknown_state" and rej.reason in REASONS
    assert rej.metric == "door" and rej.detail.startswith("door: value 'jammed'")
    assert d.fates == Counter({"mapped": 2, "rejected": 1})


def test_the_registry_still_checks_mapped_readings() -> None:
    d = decoder()
    out = d.decode(b"site/lift-1/status", b'{"door": "open", "load": 9000}', NOW)
    assert [r.metric for r in out.readings] == ["door"]
    assert [r.reason for r in out.rejections] == ["out_of_range"]
    assert d.fates["rejected"] == 1


def test_a_mapping_wins_over_mqtt_topics_and_unmapped_fields_are_counted() -> None:
    d = decoder()
    out = d.decode(b"building/hq/pump-1/vibration", b'{"rms": 2.5, "note": "ok"}', NOW)
    assert [(r.site, r.metric, r.value) for r in out.readings] == [("hq", "rms", 2.5)]
    assert out.rejections == []
    assert [(f.path, f.fate) for f in out.fields] == [("rms", "mapped"), ("note", "unmapped")]
    assert d.fates == Counter({"mapped": 1, "unmapped": 1})


def test_a_whole_message_refusal_and_strict_assets() -> None:
    d = decoder()
    out = d.decode(b"site/lift-1/status", b"{not json", NOW)
    assert [r.reason for r in out.rejections] == ["bad_json"] and out.readings == []
    strict = decoder(strict=True)
    out = strict.decode(b"site/lift-9/status", b'{"load": 1}', NOW)
    assert [r.reason for r in out.rejections] == ["unknown_asset"]


def test_topics_no_mapping_takes_decode_as_before() -> None:
    d = PayloadDecoder(
        [TopicPattern.parse("building/{site}/{asset}/{metric}")], ASSETS, default_site="hq"
    )
    out = d.decode(b"building/hq/lift-1/load", b"640", NOW)
    assert [(r.metric, r.value) for r in out.readings] == [("load", 640.0)]
    assert out.fields == () and not d.fates


def test_sparkplug_topics_go_to_the_sparkplug_decoder_and_the_registry() -> None:
    from gatewatch.sensors.sparkplug.schema import Payload

    d = PayloadDecoder([], ASSETS, default_site="hq", sparkplug=True)
    birth = Payload(timestamp=1_764_999_990_000, seq=0)
    birth.metrics.add(name="load", alias=1, datatype=10, double_value=640.0)
    birth.metrics.add(name="speed", alias=2, datatype=10, double_value=1.5)
    out = d.decode(b"spBv1.0/hq/DBIRTH/ctrl/lift-1", birth.SerializeToString(), NOW)
    assert [(r.site, r.asset, r.metric, r.value, r.unit) for r in out.readings] == [
        ("hq", "lift-1", "online", 1.0, None),
        ("hq", "lift-1", "load", 640.0, "kg"),
        ("hq", "lift-1", "speed", 1.5, None),
    ]
    data = Payload(timestamp=1_764_999_991_000, seq=1)
    data.metrics.add(alias=1, double_value=9000.0)  # outside the registry's range
    out = d.decode(b"spBv1.0/hq/DDATA/ctrl/lift-1", data.SerializeToString(), NOW)
    assert out.readings == [] and [r.reason for r in out.rejections] == ["out_of_range"]
    garbage = d.decode(b"spBv1.0/hq/DDATA/ctrl/lift-1", b"\xff\xfe\xfd", NOW)
    assert [r.reason for r in garbage.rejections] == ["bad_sparkplug"]  # never bad_utf8
    bad_topic = d.decode(b"spBv1.0/hq/NCMD/ctrl", b"", NOW)
    assert [r.reason for r in bad_topic.rejections] == ["bad_topic"]
    off = PayloadDecoder([], ASSETS, default_site="hq")  # sparkplug not enabled
    assert [r.reason for r in off.decode(b"spBv1.0/hq/NDATA/ctrl", b"\xff", NOW).rejections] == [
        "bad_topic"
    ]
