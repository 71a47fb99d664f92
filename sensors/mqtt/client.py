"""A subscribe-only MQTT 5 client on asyncio.Protocol, with reconnect.

Why our own receive path: the ingest benchmark (README) showed that library
clients spend most of the time per message in their own packet handling;
this client parses every packet of a socket read in one pass and hands the
PUBLISH packets to the ingest stage, which acknowledges QoS 1 only once the
readings are durable (at-least-once). It does exactly what gatewatch needs:
TLS, username/password, a persistent session (fixed client id, clean start
off, session expiry), Receive Maximum, QoS 0/1, keepalive, reconnect with
jittered exponential backoff, and dropping the connection on a malformed
frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from gatewatch.sensors.mqtt import codec

log = structlog.get_logger("gatewatch.mqtt")


class MqttError(Exception):
    """The broker refused us or the connection broke; the client will retry."""


@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "gatewatch"
    subscriptions: tuple[tuple[str, int], ...] = (("building/+/+/+", 1),)
    keepalive: int = 30
    clean_start: bool = False
    session_expiry: int = 7 * 86_400
    receive_maximum: int = 4096
    max_packet_bytes: int = 1_048_576
    username: str | None = None
    password: bytes | None = field(default=None, repr=False)
    tls: ssl.SSLContext | None = field(default=None, repr=False)
    connect_timeout: float = 10.0
    backoff_min: float = 0.2
    backoff_max: float = 30.0


class PublishSink(Protocol):
    def on_publish(self, pub: codec.Publish, conn: Connection) -> None: ...

    def on_connection(self, conn: Connection) -> None: ...


class Connection(asyncio.Protocol):
    """One TCP/TLS connection to the broker (one MQTT network connection)."""

    def __init__(self, sink: PublishSink, max_packet: int, generation: int) -> None:
        self.sink = sink
        self.generation = generation
        self.decoder = codec.Decoder(max_packet)
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
        self._waiters: dict[int, asyncio.Future[codec.Control]] = {}
        self.last_received = time.monotonic()
        self.paused = False
        self.session_present = False  # CONNACK: the broker resumed our session (and queue)
        self._backlog: list[codec.Publish | codec.Control] = []

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.last_received = time.monotonic()
        try:
            packets = self.decoder.feed(data)
        except codec.MalformedPacketError as exc:
            log.error("mqtt_malformed_frame", error=str(exc))
            self.abort(MqttError(f"malformed frame from broker: {exc}"))
            return
        self._dispatch(packets)

    def _dispatch(self, packets: list[codec.Publish | codec.Control]) -> None:
        on_publish = self.sink.on_publish
        for i, pkt in enumerate(packets):
            if type(pkt) is codec.Publish:
                on_publish(pkt, self)
            else:
                self._control(pkt)  # type: ignore[arg-type]  # exact-type check for speed
            if self.paused:  # backpressure: keep the rest of this read for resume()
                self._backlog = packets[i + 1 :]
                return

    def connection_lost(self, exc: Exception | None) -> None:
        for fut in self._waiters.values():
            if not fut.done():
                fut.set_exception(MqttError("connection lost"))
        if not self.closed.done():
            self.closed.set_result(exc)

    def _control(self, pkt: codec.Control) -> None:
        if pkt.type == codec.DISCONNECT:
            reason = codec.disconnect_reason(pkt.body)
            log.warning("mqtt_server_disconnect", reason_code=hex(reason))
            self.abort(MqttError(f"broker sent DISCONNECT (reason {reason:#x})"))
            return
        if pkt.type == codec.CONNACK and len(pkt.body) >= 2 and pkt.body[1] == 0:
            # The broker may send queued publishes in the same read as the CONNACK (a
            # resumed session): the sink must know this connection before them.
            self.session_present = bool(pkt.body[0] & 0x01)
            self.sink.on_connection(self)
        fut = self._waiters.pop(pkt.type, None)
        if fut is not None and not fut.done():
            fut.set_result(pkt)

    # used by the client and the ingest stage
    def expect(self, ptype: int) -> asyncio.Future[codec.Control]:
        fut: asyncio.Future[codec.Control] = asyncio.get_running_loop().create_future()
        self._waiters[ptype] = fut
        return fut

    @property
    def alive(self) -> bool:
        return self.transport is not None and not self.closed.done()

    def send(self, data: bytes) -> None:
        if self.alive:
            assert self.transport is not None
            self.transport.write(data)

    def ack(self, packet_ids: list[int]) -> None:
        """PUBACK in the order the PUBLISH packets arrived (MQTT-4.6.0-2)."""
        if packet_ids:
            self.send(codec.encode_pubacks(packet_ids))

    def pause(self) -> None:
        if self.alive and not self.paused:
            self.paused = True
            assert self.transport is not None
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.alive and self.paused:
            self.paused = False
            backlog, self._backlog = self._backlog, []
            if backlog:
                self._dispatch(backlog)
            if not self.paused:
                assert self.transport is not None
                self.transport.resume_reading()

    def abort(self, exc: Exception) -> None:
        if not self.closed.done():
            self.closed.set_result(exc)
        if self.transport is not None:
            self.transport.abort()


class MqttSubscriber:
    """Keeps one subscription alive for as long as ``run`` runs."""

    def __init__(
        self,
        settings: MqttSettings,
        sink: PublishSink,
        *,
        on_state: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.settings = settings
        self.sink = sink
        self.on_state = on_state or (lambda _state, _info: None)
        self.connection: Connection | None = None
        self.connects = 0
        self.subscribed = False  # True between SUBACK and the loss of that connection
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        backoff = self.settings.backoff_min
        while not self._stop.is_set():
            try:
                conn = await self._connect()
            except (OSError, TimeoutError, MqttError) as exc:
                self.on_state("down", {"error": str(exc)})
                log.warning("mqtt_connect_failed", error=str(exc), retry_in=round(backoff, 2))
                await self._sleep(backoff * (0.5 + random.random() / 2))
                backoff = min(backoff * 2, self.settings.backoff_max)
                continue
            backoff = self.settings.backoff_min
            await self._serve(conn)
        await self._disconnect()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _connect(self) -> Connection:
        s = self.settings
        loop = asyncio.get_running_loop()
        self.connects += 1
        generation = self.connects

        def factory() -> Connection:
            return Connection(self.sink, s.max_packet_bytes, generation)

        async with asyncio.timeout(s.connect_timeout):
            _, conn = await loop.create_connection(
                factory, s.host, s.port, ssl=s.tls, server_hostname=s.host if s.tls else None
            )
            try:
                await self._handshake(conn)
            except BaseException:
                conn.abort(MqttError("handshake failed"))
                raise
        return conn

    async def _handshake(self, conn: Connection) -> None:
        s = self.settings
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
            )
        )
        present, reason = codec.parse_connack((await connack).body)
        if reason != 0:
            text = codec.CONNACK_REASONS.get(reason, "refused")
            raise MqttError(f"broker refused the connection: {text} ({reason:#x})")
        self.connection = conn  # the sink heard of it with the CONNACK (Connection._control)
        suback = conn.expect(codec.SUBACK)
        conn.send(codec.encode_subscribe(1, list(s.subscriptions)))
        _, codes = codec.parse_suback((await suback).body)
        refused = [f for (f, _), c in zip(s.subscriptions, codes, strict=False) if c >= 0x80]
        if refused or len(codes) != len(s.subscriptions):
            raise MqttError(f"broker refused the subscription to {refused or s.subscriptions}")
        log.info(
            "mqtt_connected",
            host=s.host,
            port=s.port,
            client_id=s.client_id,
            session_present=present,
            granted_qos=codes,
        )
        self.subscribed = True
        self.on_state("up", {"session_present": present})

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
            self.on_state("down", {"error": str(exc) if exc else "closed"})
            log.warning("mqtt_connection_lost", error=str(exc) if exc else "closed by broker")
            await self._sleep(self.settings.backoff_min)

    async def _keepalive(self, conn: Connection) -> None:
        interval = max(self.settings.keepalive / 2, 0.5)
        while conn.alive:
            await asyncio.sleep(interval)
            conn.send(codec.PINGREQ_PACKET)
            if time.monotonic() - conn.last_received > self.settings.keepalive * 1.5:
                log.warning("mqtt_keepalive_timeout", keepalive=self.settings.keepalive)
                conn.abort(MqttError("no packet from the broker within 1.5 x keepalive"))

    async def _disconnect(self) -> None:
        conn = self.connection
        if conn is not None and conn.alive:
            conn.send(codec.DISCONNECT_PACKET)
            assert conn.transport is not None
            conn.transport.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(conn.closed), 2.0)
