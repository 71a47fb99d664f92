"""gatewatch.yaml -> typed configuration, every problem reported with file:line:col.

Secrets never live in the YAML: the MQTT password and the InfluxDB token come
from an environment variable (``password_env``) or a file (``password_file``).
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from gatewatch.core.assets import AssetRegistry
from gatewatch.core.yamlsource import (
    ConfigError,
    Problem,
    Section,
    parse_yaml,
)
from gatewatch.daemon.config.anomaly import AnomalySettings, parse_anomaly
from gatewatch.daemon.config.assets import load_assets
from gatewatch.daemon.config.client_id import machine_client_id
from gatewatch.daemon.config.files import read_text
from gatewatch.sensors.mqtt.codec import MAX_PACKET
from gatewatch.sensors.mqtt.settings import PROTOCOLS, MqttSettings
from gatewatch.sensors.store.forwarders import Forward, parse_forward
from gatewatch.sensors.topics import TopicPattern, TopicPatternError
from gatewatch.ticketing_client.config import TicketingSettings, parse_ticketing

DEFAULT_TOPIC = "building/{site}/{asset}/{metric}"


@dataclass(frozen=True)
class IngestSettings:
    max_payload_bytes: int = 65_536
    strict_assets: bool = False
    batch_max: int = 1000
    batch_delay: float = 0.005
    max_pending: int = 20_000


@dataclass(frozen=True)
class StoreSettings:
    path: Path
    retention_days: float = 400.0
    synchronous: str = "FULL"


@dataclass(frozen=True)
class HttpSettings:
    """The loopback endpoint for /metrics and /healthz."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 9733


@dataclass(frozen=True)
class RulesConfig:
    paths: tuple[Path, ...] = ()  # rule files or folders of *.yaml; empty: no rules
    silences_file: Path | None = None
    tick_every: float = 5.0


@dataclass(frozen=True)
class Config:
    source: str
    site: str
    state_dir: Path
    assets: AssetRegistry
    mqtt: MqttSettings
    topics: list[TopicPattern]
    ingest: IngestSettings
    store: StoreSettings
    forward: Forward | None = None  # the forward target (a FORWARDERS name) and its settings
    log_level: str = "info"
    log_format: str = "json"
    http: HttpSettings = field(default_factory=HttpSettings)
    rules: RulesConfig = field(default_factory=RulesConfig)
    tickets: TicketingSettings = field(default_factory=TicketingSettings)
    anomaly: AnomalySettings = field(default_factory=AnomalySettings)

    @property
    def state_db(self) -> Path:
        return self.state_dir / "state.db"


def load_config(path: Path, *, env: dict[str, str] | None = None) -> Config:
    """Load and validate gatewatch.yaml and the files it names; raise ConfigError."""
    text = read_text(
        path, missing="config file not found; check --config", unreadable="cannot read config"
    )
    environ = os.environ if env is None else env
    return parse_config(text, str(path), base_dir=path.parent, env=environ)


def parse_config(
    text: str, file: str, *, base_dir: Path, env: dict[str, str] | os._Environ[str]
) -> Config:
    problems: list[Problem] = []
    root = Section.root(parse_yaml(text, file), file, problems)
    site = root.text("site", "default")
    state_dir = base_dir / root.text("state_dir", "/var/lib/gatewatch")
    assets_file = base_dir / root.text("assets", "assets.yaml")
    mq = root.section("mqtt")
    topics = _topics(mq)
    mqtt = _mqtt(mq, topics, base_dir, env)
    ingest = _ingest(root.section("ingest"))
    store = _store(root.section("store"), state_dir)
    forward = parse_forward(root, lambda s, name: read_secret(s, name, base_dir, env))
    http = _http(root.section("http"))
    rules = _rules(root.section("rules"), base_dir)
    tickets = parse_ticketing(root.section("tickets"), base_dir, env)
    anomaly = parse_anomaly(root.section("anomaly"))
    lg = root.section("log")
    level = lg.text("level", "info", choices=("debug", "info", "warning", "error"))
    fmt = lg.text("format", "json", choices=("json", "console"))
    lg.check_unknown()
    root.check_unknown()
    assets = AssetRegistry.empty()
    try:
        assets = load_assets(assets_file)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if rules.paths and not problems:
        from gatewatch.daemon.config.rulefiles import load_rule_files

        try:
            load_rule_files(rules.paths, assets)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return Config(
        file,
        site,
        state_dir,
        assets,
        mqtt,
        topics,
        ingest,
        store,
        forward,
        level,
        fmt,
        http=http,
        rules=rules,
        tickets=tickets,
        anomaly=anomaly,
    )


def _topics(mq: Section) -> list[TopicPattern]:
    raw = mq.sequence("topics", None)
    patterns = [DEFAULT_TOPIC] if raw is None else raw
    out = []
    for i, pattern in enumerate(patterns):
        try:
            out.append(TopicPattern.parse(str(pattern)))
        except TopicPatternError as exc:
            loc = raw.where(i) if raw is not None else mq.loc
            mq.problems.append(Problem(loc, str(exc)))
    return out


def read_secret(
    s: Section, name: str, base_dir: Path, env: dict[str, str] | os._Environ[str]
) -> str | None:
    """A secret from ``<name>_env`` (variable name) or ``<name>_file`` (path), never inline."""
    if s.has(name):
        s.raw(name)
        s.error(
            name,
            f"{s.path}.{name} must not be written in the YAML; name an environment "
            f"variable with {name}_env or a file with {name}_file",
        )
        return None
    var, path = s.text(f"{name}_env", None), s.text(f"{name}_file", None)
    if var is not None:
        if var not in env:
            s.error(
                f"{name}_env", f"environment variable {var} (from {s.path}.{name}_env) is not set"
            )
            return None
        return str(env[var])
    if path is not None:
        try:
            return str((base_dir / path).read_text(encoding="utf-8")).strip()
        except OSError as exc:
            s.error(f"{name}_file", f"cannot read {name} file: {exc.strerror}")
    return None


def _mqtt(
    mq: Section, topics: list[TopicPattern], base_dir: Path, env: dict[str, str] | os._Environ[str]
) -> MqttSettings:
    qos = mq.integer("qos", 1)
    if qos not in (0, 1):
        mq.error("qos", "mqtt.qos must be 0 or 1 (QoS 2 is not supported: use 1)")
        qos = 1
    password = read_secret(mq, "password", base_dir, env)
    tls = _tls(mq.section("tls"), base_dir) if mq.has("tls") else None
    client_id = mq.text("client_id", None)
    if client_id is not None and not 1 <= len(client_id.encode()) <= 65_535:
        mq.error("client_id", "mqtt.client_id must be 1 to 65535 bytes; or leave it out")
        client_id = None
    settings = MqttSettings(
        host=mq.text("host", "127.0.0.1"),
        port=mq.integer("port", 8883 if tls else 1883, min=1, max=65_535),
        client_id=client_id or machine_client_id(),
        protocol=_protocol(mq),
        subscriptions=tuple((t.subscription, qos) for t in topics),
        # the protocol's field widths (MQTT 5.0 3.1.2.10, 3.1.2.11.2, 3.1.2.11.3, 3.1.2.11.4)
        keepalive=mq.integer("keepalive", 30, min=5, max=65_535),
        session_expiry=mq.integer("session_expiry", 7 * 86_400, min=0, max=2**32 - 1),
        receive_maximum=mq.integer("receive_maximum", 4096, min=1, max=65_535),
        max_packet_bytes=mq.integer("max_packet_bytes", 1_048_576, min=1024, max=MAX_PACKET),
        username=mq.text("username", None),
        password=password.encode() if password is not None else None,
        tls=tls,
    )
    mq.check_unknown()
    return settings


def _protocol(mq: Section) -> str:
    """``protocol``: 5, 3.1.1 or auto; YAML reads ``5`` as a number and ``3.1.1`` as text."""
    value = mq.raw("protocol", "auto")
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if text not in PROTOCOLS:
        mq.error("protocol", f"mqtt.protocol must be 5, 3.1.1 or auto, got {value!r}")
        return "auto"
    return text


def _tls(t: Section, base_dir: Path) -> ssl.SSLContext | None:
    ca = t.text("ca_file", None)
    cert, key = t.text("cert_file", None), t.text("key_file", None)
    t.check_unknown()
    try:
        ctx = ssl.create_default_context(cafile=str(base_dir / ca) if ca else None)
        if cert:
            ctx.load_cert_chain(str(base_dir / cert), str(base_dir / key) if key else None)
    except (OSError, ssl.SSLError) as exc:
        t.error(None, f"TLS setup failed: {exc}; check ca_file, cert_file and key_file")
        return None
    return ctx


def _ingest(s: Section) -> IngestSettings:
    out = IngestSettings(
        max_payload_bytes=s.integer("max_payload_bytes", 65_536, min=16),
        strict_assets=s.flag("strict_assets", False),
        batch_max=s.integer("batch_max", 1000, min=1),
        batch_delay=s.number("batch_delay_ms", 5, min=0) / 1000.0,
        max_pending=s.integer("max_pending", 20_000, min=100),
    )
    s.check_unknown()
    return out


def _store(s: Section, state_dir: Path) -> StoreSettings:
    path = s.text("path", None)
    out = StoreSettings(
        path=state_dir / "readings.db" if path is None else state_dir / path,
        retention_days=s.number("retention_days", 400, min=1),
        synchronous=s.text("synchronous", "FULL", choices=("FULL", "NORMAL")),
    )
    s.check_unknown()
    return out


def _http(s: Section) -> HttpSettings:
    out = HttpSettings(
        enabled=s.flag("enabled", True),
        host=s.text("host", "127.0.0.1"),
        port=s.integer("port", 9733, min=1),
    )
    if isinstance(out.port, int) and out.port > 65535:
        s.error("port", "http.port must be at most 65535")
    s.check_unknown()
    return out


def _rules(s: Section, base_dir: Path) -> RulesConfig:
    """Rule files: by default ``rules/`` and ``silences.yaml`` beside the config, if present."""
    raw = s.sequence("paths", None)
    paths = [base_dir / str(p) for p in raw] if raw is not None else [base_dir / "rules"]
    if raw is None and not paths[0].exists():
        paths = []
    for i, path in enumerate(paths):
        if raw is not None and not path.exists():
            s.problems.append(Problem(raw.where(i), f"rules path {path} does not exist"))
    silences = s.text("silences_file", None)
    out = RulesConfig(
        paths=tuple(paths),
        silences_file=base_dir / (silences or "silences.yaml"),
        tick_every=s.number("tick_every_s", 5.0, min=0.1),
    )
    s.check_unknown()
    return out
