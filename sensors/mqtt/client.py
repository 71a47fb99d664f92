"""A subscribe-only MQTT 5 / 3.1.1 client on asyncio.Protocol, with reconnect.

Why our own receive path: the ingest benchmark (README) showed that library
clients spend most of the time per message in their own packet handling;
this client parses every packet of a socket read in one pass and hands the
PUBLISH packets to the ingest stage, which acknowledges QoS 1 only once the
readings are durable (at-least-once). It does exactly what gatewatch needs:
TLS, username/password, a persistent session (fixed client id, clean start
off, session expiry), MQTT 5 or 3.1.1 (``protocol: auto`` tries 5 and falls
back once), Receive Maximum, QoS 0/1 (and the QoS 2 handshake for a broker
that sends it anyway), the broker's Server Keep Alive, a Maximum Packet Size
(an oversized message is dead-lettered and acknowledged, not a poisoned
session), half-open detection, reconnect with jittered exponential backoff
and a longer one when the session keeps being taken over, and dropping the
connection on a malformed frame. docs/mqtt-conformance.md lists the
normative statements it honours and the test of each.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from typing import Any

import structlog
from gatewatch.sensors.mqtt import codec, reasons
from gatewatch.sensors.mqtt.connection import Connection, PublishSink
from gatewatch.sensors.mqtt.errors import (
    MqttError,
    SessionTakenOverError,
    UnsupportedProtocolError,
)
from gatewatch.sensors.mqtt.flapping import FlapGuard
from gatewatch.sensors.mqtt.linkstats import LinkStats
from gatewatch.sensors.mqtt.properties import ConnAck, parse_connack
from gatewatch.sensors.mqtt.settings import PROTOCOLS, MqttSettings

log = structlog.get_logger("gatewatch.mqtt")
PROBE_TIMEOUT = 3.0  # seconds to wait for a CONNACK while protocol: auto is still probing


class MqttSubscriber:
    """Keeps one subscription alive for as long as ``run`` runs."""

    def __init__(
        self,
        settings: MqttSettings,
        sink: PublishSink,
        *,
        on_state: Callable[[str, dict[str, Any]], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if settings.protocol not in PROTOCOLS:
            raise ValueError(f"mqtt protocol must be one of {PROTOCOLS}, not {settings.protocol!r}")
        self.settings = settings
        self.sink = sink
        self.on_state = on_state or (lambda _state, _info: None)
        self.clock = clock
        self.connection: Connection | None = None
        self.connects = 0
        self.subscribed = False  # True between SUBACK and the loss of that connection
        self.version = codec.MQTT_311 if settings.protocol == "3.1.1" else codec.MQTT_5
        self.stats = LinkStats()
        self.flaps = FlapGuard(settings.backoff_min, settings.backoff_max)
        self._limits_logged: dict[str, Any] = {}
        self._settled = settings.protocol != "auto"  # auto: until a CONNACK said which
        self._tcp_up = False  # the last attempt got a TCP (TLS) connection
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        backoff = self.settings.backoff_min
        while not self._stop.is_set():
            try:
                conn = await self._connect()
            except (OSError, TimeoutError, MqttError) as exc:
                if self._fall_back(exc):
                    continue  # the other protocol version at once
                backoff = await self._connect_failed(exc, backoff)
                continue
            backoff = self.settings.backoff_min
            await self._serve(conn)
        await self._disconnect()

    def _fall_back(self, exc: Exception) -> bool:
        """``protocol: auto``, until a broker has answered: switch 5 -> 3.1.1 when the
        broker refused the version (CONNACK 0x01/0x84) or gave no CONNACK at all on an
        open connection (amqtt, like several 3.1.1 brokers, misreads an MQTT 5 CONNECT
        and waits); True to retry at once."""
        if self.settings.protocol != "auto" or self._settled or self.version != codec.MQTT_5:
            if self.settings.protocol == "auto" and not self._settled:
                self.version = codec.MQTT_5  # 3.1.1 did not answer either: alternate
            return False
        if not isinstance(exc, UnsupportedProtocolError) and not self._tcp_up:
            return False  # no broker there yet: nothing learnt about its version
        self.version = codec.MQTT_311
        log.warning(
            "mqtt_protocol_fallback",
            error=str(exc) or type(exc).__name__,
            using="3.1.1",
            fix="set mqtt.protocol: 3.1.1 to skip the MQTT 5 attempt",
        )
        return True

    async def _connect_failed(self, exc: Exception, backoff: float) -> float:
        self.on_state("down", {"error": str(exc)})
        log.warning("mqtt_connect_failed", error=str(exc), retry_in=round(backoff, 2))
        await self._sleep(backoff * (0.5 + random.random() / 2))
        return min(backoff * 2, self.settings.backoff_max)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _connect(self) -> Connection:
        s = self.settings
        loop = asyncio.get_running_loop()
        self.connects += 1
        generation, version = self.connects, self.version

        def factory() -> Connection:
            return Connection(
                self.sink, s, generation, version=version, violations=self.stats.violations
            )

        self._tcp_up = False
        async with asyncio.timeout(s.connect_timeout):
            _, conn = await loop.create_connection(
                factory, s.host, s.port, ssl=s.tls, server_hostname=s.host if s.tls else None
            )
            self._tcp_up = True
        try:
            # probing (auto): a broker that misreads the CONNECT never answers; don't wait long
            async with asyncio.timeout(s.connect_timeout if self._settled else PROBE_TIMEOUT):
                await self._handshake(conn)
        except BaseException:
            conn.abort(MqttError("handshake failed"))
            raise
        return conn

    async def _handshake(self, conn: Connection) -> None:
        s, version = self.settings, conn.version
        connack = conn.expect(codec.CONNACK)
        conn.send(
            codec.encode_connect(
                s.client_id,
                keepalive=s.keepalive,
                clean_start=s.clean_start,
                session_expiry=s.session_expiry,
                receive_maximum=s.receive_maximum,
                maximum_packet_size=s.max_packet_bytes,
                username=s.username,
                password=s.password,
                version=version,
            )
        )
        ack = parse_connack((await connack).body, version)
        self._check_connack(ack, version)
        self._settled = True
        if ack.server_keep_alive:  # MQTT-3.2.2-21: the client MUST use the server's value
            conn.keepalive = ack.server_keep_alive
        self._log_limits(ack)
        self.connection = conn  # the sink heard of it with the CONNACK (Connection._control)
        suback = conn.expect(codec.SUBACK)
        conn.send(codec.encode_subscribe(1, list(s.subscriptions), version))
        _, codes = codec.parse_suback((await suback).body, version)
        refused = [f for (f, _), c in zip(s.subscriptions, codes, strict=False) if c >= 0x80]
        if refused or len(codes) != len(s.subscriptions):
            raise MqttError(f"broker refused the subscription to {refused or s.subscriptions}")
        log.info(
            "mqtt_connected",
            host=s.host,
            port=s.port,
            client_id=s.client_id,
            protocol="5" if version == codec.MQTT_5 else "3.1.1",
            session_present=ack.session_present,
            granted_qos=codes,
            keepalive=conn.keepalive,
        )
        self.subscribed = True
        self.flaps.connected(self.clock())
        self.stats.protocol = "5" if version == codec.MQTT_5 else "3.1.1"
        self.stats.keepalive = conn.keepalive
        self.on_state("up", {"session_present": ack.session_present, "stats": self.stats})

    def _check_connack(self, ack: ConnAck, version: int) -> None:
        if ack.reason == 0:
            return
        # a 3.1.1 broker answers our MQTT 5 CONNECT with its return code 0x01
        named_as = codec.MQTT_311 if ack.reason < 0x80 else version
        text = reasons.reason_name(ack.reason, named_as)
        if ack.reason_string:
            text += f": {ack.reason_string}"
        if ack.reason in reasons.UNSUPPORTED_VERSION:
            hint = "; set mqtt.protocol: 3.1.1 (or auto)" if version == codec.MQTT_5 else ""
            raise UnsupportedProtocolError(f"broker refused the connection: {text}{hint}")
        raise MqttError(f"broker refused the connection: {text}")

    def _log_limits(self, ack: ConnAck) -> None:
        """Once per distinct set: the broker's caps that change what gatewatch can promise."""
        s, limits = self.settings, {}
        if ack.session_expiry is not None and ack.session_expiry < s.session_expiry:
            limits["session_expiry"] = ack.session_expiry
        if ack.server_keep_alive is not None and ack.server_keep_alive != s.keepalive:
            limits["server_keep_alive"] = ack.server_keep_alive
        wanted_qos = max((q for _, q in s.subscriptions), default=0)
        if ack.maximum_qos is not None and ack.maximum_qos < wanted_qos:
            limits["maximum_qos"] = ack.maximum_qos
        if ack.receive_maximum is not None:
            limits["receive_maximum"] = ack.receive_maximum
        if ack.maximum_packet_size is not None:
            limits["maximum_packet_size"] = ack.maximum_packet_size
        if limits and limits != self._limits_logged:
            self._limits_logged = limits
            log.warning(
                "mqtt_broker_limits",
                **limits,
                asked={"session_expiry": s.session_expiry, "keepalive": s.keepalive},
                effect=(
                    f"the broker keeps our queue {limits['session_expiry']} s while we are away"
                    if "session_expiry" in limits
                    else "the broker's limits apply"
                ),
            )

    async def _serve(self, conn: Connection) -> None:
        keepalive = asyncio.create_task(self._keepalive(conn))
        stop: asyncio.Future[object] = asyncio.ensure_future(self._stop.wait())
        closed: asyncio.Future[object] = conn.closed  # type: ignore[assignment]
        try:
            await asyncio.wait({closed, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            keepalive.cancel()
            stop.cancel()
        if conn.closed.done():
            exc = conn.closed.result()
            self.subscribed = False
            taken = isinstance(exc, SessionTakenOverError)
            delay, started = self.flaps.lost(self.clock(), taken_over=taken)
            self.stats.takeovers, self.stats.flapping = self.flaps.takeovers, self.flaps.flapping
            error = str(exc) if exc else "closed by the broker"
            self.on_state("down", {"error": error, "taken_over": taken, "stats": self.stats})
            log.warning("mqtt_connection_lost", error=error, retry_in=round(delay, 2))
            if started:
                log.error(
                    "mqtt_session_flapping",
                    cause="session taken over" if taken else "dropped soon after connecting",
                    likely="another client uses the same client id",
                    client_id=self.settings.client_id,
                    fix="give every gateway its own mqtt.client_id (the default is per machine)",
                )
            await self._sleep(delay * (0.5 + random.random() / 2) if started else delay)

    async def _keepalive(self, conn: Connection) -> None:
        """PINGREQ every half keepalive; drop a link silent for 1.5 x keepalive (half-open)."""
        next_ping = time.monotonic() + conn.keepalive / 2
        while conn.alive:
            now = time.monotonic()
            deadline = conn.last_received + conn.keepalive * 1.5
            if now >= deadline:
                log.warning("mqtt_keepalive_timeout", keepalive=conn.keepalive)
                conn.abort(MqttError("no packet from the broker within 1.5 x keepalive"))
                return
            if now >= next_ping:
                conn.send(codec.PINGREQ_PACKET)
                next_ping = now + conn.keepalive / 2
            await asyncio.sleep(max(0.01, min(next_ping, deadline) - now))

    async def _disconnect(self) -> None:
        conn = self.connection
        if conn is not None and conn.alive:
            conn.send(codec.DISCONNECT_PACKET)
            assert conn.transport is not None
            conn.transport.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(conn.closed), 2.0)
