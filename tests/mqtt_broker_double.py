"""A scripted MQTT broker on a socket we control, for what real brokers will not do
on demand (go silent, send QoS 2 to a QoS 1 subscriber, ignore our Maximum Packet
Size, answer 0x01). A unit-test double: the same behaviours against real brokers
are in tests/sensors/mqtt/test_interop.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gatewatch.sensors.mqtt import codec

Script = Callable[["Peer"], Awaitable[None]]


@dataclass
class Peer:
    """One client connection: read whole packets, write raw bytes."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    received: list[tuple[int, bytes]] = field(default_factory=list)

    async def packet(self, timeout: float = 10.0) -> tuple[int, bytes]:
        """The next packet from the client: (type, body)."""
        async with asyncio.timeout(timeout):
            first = (await self.reader.readexactly(1))[0]
            length, shift = 0, 0
            while True:
                byte = (await self.reader.readexactly(1))[0]
                length |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            body = await self.reader.readexactly(length)
        self.received.append((first >> 4, body))
        return first >> 4, body

    async def until(self, ptype: int, timeout: float = 10.0) -> bytes:
        while True:
            got, body = await self.packet(timeout)
            if got == ptype:
                return body

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def accept(self, connack: bytes = b"\x20\x03\x00\x00\x00") -> bytes:
        """CONNECT -> CONNACK, SUBSCRIBE -> SUBACK granting QoS 1; the CONNECT body."""
        _, connect = await self.packet()
        await self.send(connack)
        _, sub = await self.packet()
        if connect[6] == 5:
            await self.send(b"\x90\x04" + sub[:2] + b"\x00\x01")
        else:
            await self.send(b"\x90\x03" + sub[:2] + b"\x01")
        return connect


def publish(topic: bytes, payload: bytes, qos: int, pid: int, v5: bool = True) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic + (pid.to_bytes(2, "big") if qos else b"")
    body += (b"\x00" if v5 else b"") + payload
    return bytes([0x30 | (qos << 1)]) + codec.encode_varint(len(body)) + body


class BrokerDouble:
    """Runs ``script`` for every connection, in order (script[i] for connection i,
    the last one for any after)."""

    def __init__(self, *scripts: Script) -> None:
        self.scripts = scripts
        self.peers: list[Peer] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> BrokerDouble:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for peer in self.peers:
            peer.writer.close()
        await asyncio.sleep(0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(reader, writer)
        self.peers.append(peer)
        script = self.scripts[min(len(self.peers), len(self.scripts)) - 1]
        try:
            await script(peer)
            await reader.read()  # hold the connection until the client closes it
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            pass
        finally:
            writer.close()
