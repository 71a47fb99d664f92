"""FORWARDERS: every forward target is reachable by its name; a target registered there
(one module, one line) is what gatewatch.yaml's sections and build_forwarder use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from gatewatch.core.reading import Reading
from gatewatch.core.yamlsource import ConfigError, Section
from gatewatch.daemon.config.load import Config, parse_config
from gatewatch.sensors.store.base import Forwarder, ForwardLag
from gatewatch.sensors.store.forward_queue import ForwardQueue, QueuedRow, queue_figures
from gatewatch.sensors.store.forwarders import FORWARDERS, Forward, build_forwarder
from gatewatch.sensors.store.influx import InfluxForwarder
from gatewatch.sensors.store.influx_settings import InfluxSettings
from gatewatch.sensors.store.sqlite import SqliteStore
from gatewatch.sensors.store.target import SecretReader, Target


def load(tmp: Path, text: str, env: dict[str, str] | None = None) -> Config:
    (tmp / "assets.yaml").write_text("assets:\n  p-1: {class: pump}\n")
    return parse_config(f"state_dir: {tmp}\n{text}", "gatewatch.yaml", base_dir=tmp, env=env or {})


def problems(tmp: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load(tmp, text)
    return [str(p) for p in err.value.problems]


@pytest.mark.parametrize("name", list(FORWARDERS))
def test_each_target_is_reachable_by_its_name(name: str) -> None:
    assert FORWARDERS[name].name == name


def test_the_influxdb_section_is_the_influxdb_target(tmp_path: Path) -> None:
    cfg = load(tmp_path, "influxdb: {url: 'http://127.0.0.1:8428', token_env: T}\n", {"T": "t"})
    settings = InfluxSettings("http://127.0.0.1:8428", "gatewatch", "gatewatch", token="t")
    assert cfg.forward == Forward("influxdb", settings)
    store = SqliteStore(tmp_path / "readings.db", tmp_path / "state.db", forward=True)
    forwarder = build_forwarder("influxdb", settings, store.path)
    assert isinstance(forwarder, InfluxForwarder) and forwarder.settings is settings
    assert forwarder.lag().queued == 0  # built, not started: nothing sent, nothing lost
    store.close()
    assert load(tmp_path, "").forward is None


def test_the_influxdb_messages_are_the_ones_of_before(tmp_path: Path) -> None:
    assert problems(tmp_path, "influxdb: {url: 'http://x', token: abc}\n") == [
        "gatewatch.yaml:2:36: influxdb.token must not be written in the YAML; name an "
        "environment variable with token_env or a file with token_file"
    ]
    assert problems(tmp_path, "influxdb: {org: o, batchsize: 5, token_env: NOPE}\n") == [
        "gatewatch.yaml:2:11: missing required key 'influxdb.url' (a string)",
        "gatewatch.yaml:2:45: environment variable NOPE (from influxdb.token_env) is not set",
        "gatewatch.yaml:2:20: unknown key 'influxdb.batchsize'; did you mean 'batch_size'?",
    ]


def test_an_unknown_target_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown forward target 'carbon'; known: influxdb"):
        build_forwarder("carbon", None, tmp_path / "readings.db")


# a test-only target: settings, parse, a forwarder draining the queue into a list


@dataclass(frozen=True)
class ListSettings:
    label: str
    token: str


def parse_list(s: Section, secret: SecretReader) -> ListSettings:
    out = ListSettings(label=s.text("label", "all"), token=secret(s, "token") or "")
    s.check_unknown()
    return out


class ListForwarder:
    """Takes every queued reading at once (a server that accepts everything)."""

    def __init__(self, store_path: Path, settings: ListSettings) -> None:
        self.store_path, self.settings = store_path, settings
        self.sent: list[QueuedRow] = []
        self._queue: ForwardQueue | None = None

    def start(self) -> None:
        self._queue = ForwardQueue(self.store_path)

    def drain(self) -> None:
        assert self._queue is not None
        rows = self._queue.head(1000)
        if rows:
            self._queue.ack(rows)
            self.sent += rows

    def stop(self) -> None:
        if self._queue is not None:
            self._queue.close()

    def lag(self) -> ForwardLag:
        figures = queue_figures(self.store_path)
        return ForwardLag(figures.queued, 0.0, None, 0, 0, figures.parked, len(self.sent))


def _build_list(store_path: Path, settings: ListSettings) -> Forwarder:
    return ListForwarder(store_path, settings)


LIST = Target("listing", parse=parse_list, build=_build_list)


@pytest.fixture
def listing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(FORWARDERS, "listing", LIST)


def test_a_section_is_unknown_until_its_target_is_registered(tmp_path: Path) -> None:
    [problem] = problems(tmp_path, "listing: {label: x}\n")
    assert problem == "gatewatch.yaml:2:1: unknown key 'listing'"


@pytest.mark.usefixtures("listing")
def test_a_registered_target_is_read_from_its_section_and_built_by_name(tmp_path: Path) -> None:
    cfg = load(tmp_path, "listing: {label: hall, token_env: T}\n", {"T": "tok"})
    assert cfg.forward == Forward("listing", ListSettings("hall", "tok"))
    store = SqliteStore(tmp_path / "readings.db", tmp_path / "state.db", forward=True)
    store.write([Reading("hq", "p-1", "flow", 1_732_400_000.0, 2.5, "m3/h")], [])
    forwarder = build_forwarder(cfg.forward.name, cfg.forward.settings, store.path)
    assert isinstance(forwarder, ListForwarder)
    forwarder.start()
    assert forwarder.lag().queued == 1
    forwarder.drain()
    assert [row.value for row in forwarder.sent] == [2.5] and forwarder.lag().queued == 0
    forwarder.stop()
    store.close()


@pytest.mark.usefixtures("listing")
def test_a_registered_targets_section_is_checked_at_its_place(tmp_path: Path) -> None:
    assert problems(tmp_path, "listing: {lable: hall}\n") == [
        "gatewatch.yaml:2:11: unknown key 'listing.lable'; did you mean 'label'?"
    ]
    assert problems(tmp_path, "influxdb: {url: 'http://x'}\nlisting: {label: hall}\n") == [
        "gatewatch.yaml:3:10: listing: only one forward target at a time (the store has one "
        "forward queue); keep influxdb or listing"
    ]
