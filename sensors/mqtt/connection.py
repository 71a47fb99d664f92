"""One MQTT network connection on asyncio.Protocol: framing in, acknowledgements out.

The client (client.py) opens it, runs the handshake over it and watches it;
the ingest stage receives its publishes and acknowledges them through it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Protocol

import structlog
from gatewatch.sensors.mqtt import codec, reasons
from gatewatch.sensors.mqtt.errors import MqttError, SessionTakenOverError
from gatewatch.sensors.mqtt.properties import parse_disconnect
from gatewatch.sensors.mqtt.settings import MqttSettings

log = structlog.get_logger("gatewatch.mqtt")


class PublishSink(Protocol):
    def on_publish(self, pub: codec.Publish, conn: Connection) -> None: ...

    def on_connection(self, conn: Connection) -> None: ...

    def on_oversized(self, pkt: codec.Oversized, conn: Connection) -> None: ...


class Connection(asyncio.Protocol):
    """One TCP/TLS connection to the broker (one MQTT network connection)."""

    def __init__(
        self,
        sink: PublishSink,
        settings: MqttSettings,
        generation: int,
        *,
        version: int = codec.MQTT_5,
        violations: Counter[str] | None = None,
    ) -> None:
        self.sink = sink
        self.generation = generation
        self.version = version
        self.decoder = codec.Decoder(settings.max_packet_bytes, version)
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
        self._waiters: dict[int, asyncio.Future[codec.Control]] = {}
        self.last_received = time.monotonic()
        self.keepalive = settings.keepalive  # the broker's Server Keep Alive once CONNACK has it
        self.paused = False
        self.session_present = False  # CONNACK: the broker resumed our session (and queue)
        self._backlog: list[codec.Packet] = []
        self.receive_maximum = settings.receive_maximum
        self.unacked = 0  # QoS 1/2 publishes received and not yet acknowledged
        self.peak_unacked = 0  # the most the broker ever had unacknowledged: its window, at most
        self._qos2: set[int] = set()  # QoS 2 packet ids to answer with PUBREC, not PUBACK
        self.violations = violations if violations is not None else Counter()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.last_received = time.monotonic()
        try:
            self._dispatch(self.decoder.feed(data))
        except codec.MalformedPacketError as exc:  # framing, or a control packet's body
            log.error("mqtt_malformed_frame", error=str(exc))
            self.abort(MqttError(f"malformed frame from broker: {exc}"))

    def _dispatch(self, packets: list[codec.Packet]) -> None:
        on_publish = self.sink.on_publish
        for i, pkt in enumerate(packets):
            if type(pkt) is codec.Publish:
                if pkt[2]:  # qos
                    self._inflight(pkt[2], pkt[3])
                on_publish(pkt, self)
            elif type(pkt) is codec.Oversized:
                if pkt.qos:
                    self._inflight(pkt.qos, pkt.packet_id)
                self.sink.on_oversized(pkt, self)
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

    def _inflight(self, qos: int, packet_id: int) -> None:
        self.unacked += 1
        self.peak_unacked = max(self.peak_unacked, self.unacked)
        if self.unacked > self.receive_maximum:  # MQTT-3.3.4-9: the broker's to respect
            self.violations["receive_maximum_exceeded"] += 1
        if qos == 2:  # we subscribe with QoS <= 1: the broker should have downgraded it
            self.violations["qos2_above_granted"] += 1
            self._qos2.add(packet_id)

    def _control(self, pkt: codec.Control) -> None:
        if pkt.type == codec.PUBREL:  # QoS 2, second half: the message is ours already
            self.send(codec.encode_pubcomp(codec.packet_id(pkt.body)))
            return
        if pkt.type == codec.DISCONNECT:
            reason, text = parse_disconnect(pkt.body)
            name = reasons.reason_name(reason)
            log.warning("mqtt_server_disconnect", reason=name, reason_string=text)
            error = SessionTakenOverError if reason == reasons.SESSION_TAKEN_OVER else MqttError
            self.abort(error(f"broker sent DISCONNECT: {name}" + (f": {text}" if text else "")))
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
        """PUBACK (PUBREC for QoS 2) in the order the PUBLISH packets arrived (MQTT-4.6.0-2)."""
        if not packet_ids:
            return
        self.unacked = max(0, self.unacked - len(packet_ids))
        if not self._qos2:
            self.send(codec.encode_pubacks(packet_ids))
            return
        out = []
        for pid in packet_ids:
            if pid in self._qos2:
                self._qos2.discard(pid)
                out.append(codec.encode_pubrec(pid))
            else:
                out.append(codec.encode_puback(pid))
        self.send(b"".join(out))

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
