"""A benchmark consumer process, so that its peak RSS is its own.

``gatewatch`` mode runs the daemon's ingest path: its store and ingest stages
(MqttSubscriber -> Ingest -> StoreWriter -> SqliteStore), built and started
and stopped as the composition root does (``StoreStage``, ``build_ingest``,
``IngestStage`` in a ``Lifecycle``), without the stages after the store,
until ``expected`` messages are durable or nothing new arrived for ``idle``
seconds (QoS 0 may lose). The durable time of each batch is the writer's
commit time, delivered to the Ingest listeners; with ``latency`` on, publish
-> durable is taken per reading from the publish time carried in the
payload's ``ts``.

``paho`` mode is the comparison row: a bare paho-mqtt 2.x subscriber
(MQTT 5, persistent session, json.loads, manual_ack right after decoding,
nothing stored).

Protocol with the orchestrator: prints ``ready`` once subscribed, then one
JSON line with the result when done.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gatewatch.core.reading import Reading
from gatewatch.daemon.bench import stream as bs
from gatewatch.daemon.config.load import Config, IngestSettings, StoreSettings
from gatewatch.daemon.ops.logs import setup_logging
from gatewatch.daemon.run.ingest_stage import IngestStage, StoreStage, build_ingest
from gatewatch.daemon.run.stage import Lifecycle
from gatewatch.sensors.ingest import Ingest
from gatewatch.sensors.mqtt.settings import MqttSettings
from gatewatch.sensors.topics import TopicPattern

POLL = 0.02


@dataclass
class Progress:
    """What the Ingest listeners saw: durable readings, last commit, latencies."""

    latency: bool
    readings: int = 0
    last_durable_at: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def on_durable(self, readings: list[Reading], durable_at: float) -> None:
        self.readings += len(readings)
        if readings:
            self.last_durable_at = durable_at
        if self.latency:
            self.latencies.extend(durable_at - r.ts for r in readings)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of unsorted values; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench_config(a: argparse.Namespace) -> Config:
    workdir = Path(a.workdir)
    mqtt = MqttSettings(
        port=a.port,
        client_id=a.client_id,
        subscriptions=((bs.TOPIC_FILTER, a.qos),),
        receive_maximum=a.receive_maximum,
        protocol=a.protocol,
    )
    return Config(
        source="<bench>",
        site=bs.SITE,
        state_dir=workdir,
        assets=bs.registry(a.series),
        mqtt=mqtt,
        topics=[TopicPattern.parse("building/{site}/{asset}/{metric}")],
        ingest=IngestSettings(),
        store=StoreSettings(path=workdir / "readings.db", synchronous=a.synchronous),
    )


async def run_gatewatch(a: argparse.Namespace) -> dict[str, object]:
    cfg = bench_config(a)
    progress = Progress(latency=a.latency)
    ready = asyncio.Event()
    store = StoreStage(cfg)
    ingest = build_ingest(cfg, store.store, [progress.on_durable])
    subscribed = lambda state, _info: ready.set() if state == "up" else None  # noqa: E731
    lifecycle = Lifecycle([store, IngestStage(cfg, ingest, on_state=[subscribed])])
    await lifecycle.start()
    await ready.wait()
    print("ready", flush=True)
    await _wait_done(ingest, a.expected, a.idle)
    await lifecycle.stop()
    stats = ingest.stats
    return {
        "messages": stats.messages,
        "readings_durable": stats.readings_durable,
        "dead_letters": sum(stats.dead_letters.values()),
        "last_durable_at": progress.last_durable_at,
        "commits": ingest.writer.commits,
        "pauses": stats.pauses,
        "latency_p50_ms": _ms(percentile(progress.latencies, 50)),
        "latency_p99_ms": _ms(percentile(progress.latencies, 99)),
        "latency_max_ms": _ms(max(progress.latencies, default=None)),
        "peak_rss_mib": peak_rss_mib(),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 2)


async def _wait_done(ingest: Ingest, expected: int, idle: float) -> None:
    last, last_change = -1, time.monotonic()
    while ingest.stats.messages_durable < expected:
        await asyncio.sleep(POLL)
        now, seen = time.monotonic(), ingest.stats.messages
        if seen != last:
            last, last_change = seen, now
        elif seen and now - last_change > idle and ingest.stats.pending == 0:
            return  # the rest was lost on the way (QoS 0) or never sent


def run_paho(a: argparse.Namespace) -> dict[str, object]:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    state = {"messages": 0, "bad": 0, "last_at": 0.0}
    subscribed = {"done": False}

    def on_message(client: mqtt.Client, _ud: object, msg: mqtt.MQTTMessage) -> None:
        try:
            json.loads(msg.payload)
        except ValueError:
            state["bad"] += 1
        client.ack(msg.mid, msg.qos)
        state["messages"] += 1
        state["last_at"] = time.time()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=a.client_id, protocol=mqtt.MQTTv5,
        manual_ack=True,
    )  # fmt: skip
    client.on_message = on_message
    client.on_subscribe = lambda *_args: subscribed.update(done=True)
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 4096
    client.connect("127.0.0.1", a.port, clean_start=False, properties=props)
    client.subscribe(bs.TOPIC_FILTER, qos=a.qos)
    while not subscribed["done"]:
        client.loop(0.1)
    print("ready", flush=True)
    last, last_change = -1, time.monotonic()
    while state["messages"] < a.expected:
        client.loop(POLL)
        now = time.monotonic()
        if state["messages"] != last:
            last, last_change = int(state["messages"]), now
        elif last > 0 and now - last_change > a.idle:
            break
    client.disconnect()
    return {
        "messages": state["messages"],
        "undecodable": state["bad"],
        "last_durable_at": state["last_at"],
        "peak_rss_mib": peak_rss_mib(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    setup_logging("warning", "json")
    result = run_paho(a) if a.mode == "paho" else asyncio.run(run_gatewatch(a))
    print(json.dumps(result), flush=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench_consumer")
    p.add_argument("--mode", choices=("gatewatch", "paho"), default="gatewatch")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--qos", type=int, choices=(0, 1), required=True)
    p.add_argument("--series", type=int, required=True)
    p.add_argument("--expected", type=int, required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL")
    p.add_argument("--idle", type=float, default=3.0)
    p.add_argument("--latency", action="store_true")
    p.add_argument("--receive-maximum", type=int, default=MqttSettings.receive_maximum)
    p.add_argument("--protocol", choices=("5", "3.1.1"), default="5")
    return p


if __name__ == "__main__":
    sys.exit(main())
