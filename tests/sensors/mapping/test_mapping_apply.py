from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from gatewatch.sensors.mapping.apply import apply_mapping
from gatewatch.sensors.mapping.model import FieldMap, Mapping, TimeSpec
from gatewatch.sensors.mapping.path import parse_path
from gatewatch.sensors.mapping.topic import MappingTopic

NOW = 1_765_000_000.0
ONOFF = {"ON": 1.0, "OFF": 0.0}


def field(path: str, metric: str | None = None, **kw: object) -> FieldMap:
    return FieldMap(parse_path(path), path, metric or path, **kw)  # type: ignore[arg-type]


def mapping(pattern: str = "dev/{asset}", **kw: object) -> Mapping:
    return Mapping("test", MappingTopic.parse(pattern), "maps.yaml:3", **kw)  # type: ignore[arg-type]


def test_eight_good_fields_and_one_bad_give_eight_readings_and_one_rejection() -> None:
    names = [f"f{i}" for i in range(8)]
    m = mapping(fields=(*(field(n) for n in names), field("door", values={"open": 1.0})))
    doc = (
        b'{"f0": 0, "f1": 1, "f2": 2, "f3": 3, "f4": 4, "f5": 5, "f6": 6, "f7": 7, "door": "ajar"}'
    )
    out = apply_mapping(m, {"asset": "lift-1"}, doc, NOW, "hq")
    assert out.error is None
    assert [r[0] for r in out.raws] == names
    assert [r[2] for r in out.raws] == [float(i) for i in range(8)]
    bad = [f for f in out.fates if f.fate == "rejected"]
    assert len(bad) == 1
    assert (bad[0].path, bad[0].reason) == ("door", "unknown_state")
    assert "'ajar'" in bad[0].detail and "open" in bad[0].detail


def test_value_maps_units_scale_and_nested_paths() -> None:
    m = mapping(
        fields=(
            field("POWER", "power", values=ONOFF),
            field("contact", values={"true": 1.0, "false": 0.0}),
            field("ENERGY.Power", "power_w", unit="W"),
            field("t", "temp", scale=0.1, offset=-1.0, unit="C"),
            field("s.0", "first"),
        )
    )
    payload = b'{"POWER": "off", "contact": false, "ENERGY": {"Power": 42}, "t": 215, "s": [7, 8]}'
    out = apply_mapping(m, {"asset": "plug"}, payload, NOW, "hq")
    got = {r[0]: (r[2], r[3]) for r in out.raws}
    assert got == {
        "power": (0.0, None),
        "contact": (0.0, None),
        "power_w": (42.0, "W"),
        "temp": (20.5, "C"),
        "first": (7.0, None),
    }
    unmapped = [f.path for f in out.fates if f.fate == "unmapped"]
    assert unmapped == ["s.1"]
    assert out.site == "hq" and out.asset == "plug"


def test_unmapped_numbers_are_taken_under_their_path_and_strings_counted() -> None:
    m = mapping("x/{asset}/{metric}", unmapped="numbers", ignore=("id", "aenergy.by_*"))
    payload = b'{"id": 0, "source": "init", "output": true, "apower": 3.5,'
    payload += b' "aenergy": {"total": 11.2, "by_minute": [1, 2]}}'
    out = apply_mapping(m, {"asset": "sh1", "metric": "switch:0"}, payload, NOW, "hq")
    got = {r[0]: r[2] for r in out.raws}
    assert got == {"switch:0.output": 1.0, "switch:0.apower": 3.5, "switch:0.aenergy.total": 11.2}
    fates = {f.path: f.fate for f in out.fates}
    assert fates["id"] == "ignored" and fates["aenergy.by_minute"] == "ignored"
    assert fates["source"] == "unmapped"


def test_a_scalar_payload_maps_through_value() -> None:
    m = mapping("{asset}/binary_sensor/{metric}/state", value=field("", "{metric}", values=ONOFF))
    out = apply_mapping(m, {"asset": "node", "metric": "door"}, b"ON", NOW, "hq")
    assert out.raws == [("door", NOW, 1.0, None)]
    out = apply_mapping(m, {"asset": "node", "metric": "door"}, b"MAYBE", NOW, "hq")
    assert out.raws == [] and out.fates[0].reason == "unknown_state"
    num = mapping("{asset}/sensor/{metric}/state", value=field("", "{metric}"))
    out = apply_mapping(num, {"asset": "node", "metric": "temp"}, b" 21.5\n", NOW, "hq")
    assert out.raws == [("temp", NOW, 21.5, None)]


def test_timestamp_formats() -> None:
    def ts_of(fmt: str, raw: bytes, zone: timezone | None = None) -> float:
        m = mapping(fields=(field("v"),), timestamp=TimeSpec(("t",), "t", fmt, zone))
        out = apply_mapping(m, {"asset": "a"}, b'{"v": 1, "t": ' + raw + b"}", NOW, "hq")
        assert out.error is None, out.error
        return out.raws[0][1]

    expected = 1_765_000_000.0
    assert ts_of("epoch_s", b"1765000000") == expected
    assert ts_of("epoch_ms", b"1765000000000") == expected
    assert ts_of("epoch_us", b'"1765000000000000"') == expected
    iso = datetime.fromtimestamp(expected, UTC)
    assert ts_of("iso8601", f'"{iso.isoformat()}"'.encode()) == expected
    naive = iso.replace(tzinfo=None).isoformat()
    assert ts_of("iso8601", f'"{naive}"'.encode()) == expected
    plus2 = timezone(timedelta(hours=2))
    local = iso.astimezone(plus2).replace(tzinfo=None).isoformat()
    assert ts_of("iso8601", f'"{local}"'.encode(), plus2) == expected
    assert ts_of("auto", b'"2025-12-06T05:46:40Z"') == expected


def test_a_bad_timestamp_refuses_the_message_with_its_path() -> None:
    m = mapping(fields=(field("v"),), timestamp=TimeSpec(("Time",), "Time", "iso8601"))
    out = apply_mapping(m, {"asset": "a"}, b'{"v": 1, "Time": "yesterday"}', NOW, "hq")
    assert out.raws == []
    assert out.error is not None and out.error[0] == "bad_timestamp" and "Time" in out.error[1]


def test_bad_json_and_non_objects_are_refused_not_raised() -> None:
    m = mapping(fields=(field("v"),))
    for payload, reason in ((b"{nope", "bad_json"), (b"hello", "not_a_number"), (b"", "empty")):
        out = apply_mapping(m, {"asset": "a"}, payload, NOW, "hq")
        assert out.error is not None and out.error[0] == reason


def test_objects_where_numbers_are_expected_are_rejected_per_field() -> None:
    m = mapping(fields=(field("a"), field("b")))
    out = apply_mapping(m, {"asset": "x"}, b'{"a": {"deep": 1}, "b": null}', NOW, "hq")
    assert out.raws == []
    assert [(f.path, f.reason) for f in out.fates] == [("a", "not_a_number"), ("b", "not_a_number")]


def test_a_message_of_which_nothing_maps_is_refused_unless_all_was_ignored() -> None:
    m = mapping(fields=(field("v"),), ignore=("rssi",))
    for payload in (b"{}", b"[]", b'{"action": "single"}', b'{"rssi": 3, "action": "x"}'):
        out = apply_mapping(m, {"asset": "a"}, payload, NOW, "hq")
        assert out.error is not None and out.error[0] == "no_metric", payload
        assert "maps.yaml:3" in out.error[1]
    out = apply_mapping(m, {"asset": "a"}, b'{"rssi": 3}', NOW, "hq")
    assert out.error is None and [f.fate for f in out.fates] == ["ignored"]


def test_deeply_nested_payloads_are_refused_or_cut_never_raised() -> None:
    m = mapping(fields=(field("v"),), unmapped="numbers")
    for depth in (100, 1000):
        deep = b'{"a":' * depth + b"1" + b"}" * depth
        out = apply_mapping(m, {"asset": "a"}, b'{"v": 2, "d": ' + deep + b"}", NOW, "hq")
        assert out.error is None and [r[0] for r in out.raws] == ["v"]
        assert out.fates[-1].fate == "unmapped" and "deeper than 64" in out.fates[-1].detail
