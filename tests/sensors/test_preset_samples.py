"""The shipped presets (config/mappings/) on sample payloads from each project's own
documentation (tests/sensors/samples/presets.yaml names the source of each), decoded
through the shipped example config, as a new user's first try would be."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from gatewatch.daemon.config.load import load_config
from gatewatch.sensors.decode import REASONS, PayloadDecoder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
SAMPLES_FILE = Path(__file__).parent / "samples" / "presets.yaml"
SAMPLES = yaml.safe_load(SAMPLES_FILE.read_text())["samples"]
NOW = 1_765_000_000.0


@pytest.fixture(scope="module")
def decoder() -> PayloadDecoder:
    cfg = load_config(ROOT / "config" / "gatewatch.yaml", env={})
    return PayloadDecoder(cfg.topics, cfg.assets, default_site=cfg.site, mappings=cfg.mappings)


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["name"] for s in SAMPLES])
def test_each_documented_sample_decodes_to_its_readings(
    decoder: PayloadDecoder, sample: dict[str, Any]
) -> None:
    assert sample["source"].startswith("http")
    out = decoder.decode(sample["topic"].encode(), sample["payload"].encode(), NOW)
    assert [r.reason for r in out.rejections] == sample.get("rejections", [])
    got = {r.metric: r.value for r in out.readings}
    assert got == pytest.approx({str(k): float(v) for k, v in sample["readings"].items()})
    assert {r.ts for r in out.readings} <= {float(sample.get("ts", NOW))}
    fates = {f.path: f.fate for f in out.fields}
    for path in sample.get("unmapped", []):
        assert fates[path] == "unmapped"
    for path in sample.get("ignored", []):
        assert fates[path] == "ignored"


def test_the_example_config_subscribes_to_every_preset_topic() -> None:
    cfg = load_config(ROOT / "config" / "gatewatch.yaml", env={})
    subs = {topic for topic, _qos in cfg.mqtt.subscriptions}
    wanted = {"zigbee2mqtt/+", "tele/+/SENSOR", "tele/+/STATE", "+/binary_sensor/+/state"}
    assert wanted | {"+/status/+", "+/events/rpc", "homeassistant/light/+/state"} <= subs
    assert "homeassistant/switch/+/state" not in subs  # +/switch/+/state covers it


def test_a_tasmota_power_value_it_does_not_know_is_dead_lettered_with_its_path(
    decoder: PayloadDecoder,
) -> None:
    out = decoder.decode(b"tele/plug-3/STATE", b'{"POWER": "BLINK", "UptimeSec": 5}', NOW)
    assert [(r.metric, r.value) for r in out.readings] == [("uptime", 5.0)]
    (rej,) = out.rejections
    assert rej.reason == "unknown_state" and rej.detail.startswith("POWER: value 'BLINK'")


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)
TOPICS = [str(s["topic"]) for s in SAMPLES]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    topic=st.sampled_from(TOPICS),
    payload=st.one_of(JSON.map(orjson.dumps), st.binary(max_size=64)),
)
def test_any_payload_on_a_preset_topic_is_decoded_or_refused_never_raised(
    decoder: PayloadDecoder, topic: str, payload: bytes
) -> None:
    out = decoder.decode(topic.encode(), payload, NOW)
    # stored, or dead-lettered, or every field ignored on purpose: never silently nothing
    everything_ignored = out.fields and all(f.fate == "ignored" for f in out.fields)
    assert out.readings or out.rejections or everything_ignored
    mapped = sum(f.fate == "mapped" for f in out.fields)
    assert len(out.readings) <= mapped
    for rej in out.rejections:
        assert rej.reason in REASONS and rej.detail
