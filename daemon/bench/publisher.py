"""One benchmark publisher process: raw MQTT 3.1.1 PUBLISH packets over one socket.

Why not paho or mosquitto_pub: paho's publish() reached 10k msgs/s at QoS 0
and under 2k/s at QoS 1 here, so the publishers would be the bottleneck of
the measurement; ``mosquitto_pub -l`` sends every line to a single topic,
and the stream spans many series. Packets are encoded up front (flat-out
mode) or on the fly with the current time as ``ts`` (paced mode, for
latency). At QoS 1 at most ``WINDOW`` messages are unacknowledged, so a
packet id is never reused while in flight; the process exits only when the
broker has acknowledged everything.

Protocol with the orchestrator: prints ``ready`` once connected, waits for a
line on stdin (go), sends, prints one JSON line ``{"published": n,
"seconds": s}``.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from collections.abc import Sequence

from gatewatch.daemon.bench import stream as bs

WINDOW = 20_000  # unacknowledged QoS 1 messages, well below the 65535 packet ids
CHUNK = 500  # packets per socket write
TICK = 0.002  # seconds between paced sends


class AckCounter:
    """Counts PUBACKs (4 bytes each) read from the socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.acked = 0
        self._partial = 0

    def read(self, *, block: bool) -> None:
        self.sock.setblocking(block)
        try:
            data = self.sock.recv(1 << 16)
        except BlockingIOError:
            return
        finally:
            self.sock.setblocking(True)
        if not data:
            raise ConnectionError("broker closed the connection")
        total = self._partial + len(data)
        self.acked += total // 4
        self._partial = total % 4

    def wait_below(self, sent: int, window: int) -> None:
        self.read(block=False)
        while sent - self.acked > window:
            self.read(block=True)


def connect(port: int, client_id: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(bs.encode_connect(client_id))
    connack = b""
    while len(connack) < 4:
        got = sock.recv(4 - len(connack))
        if not got:
            raise ConnectionError("broker closed the connection before CONNACK")
        connack += got
    if connack[3] != 0:
        raise ConnectionError(f"broker refused the connection (code {connack[3]})")
    return sock


def flat_packets(spec: bs.StreamSpec, publisher: int, qos: int) -> list[bytes]:
    topics = [bs.topic(s, spec.shape) for s in range(spec.series)]
    return [
        bs.encode_publish(
            topics[k % spec.series],
            bs.payload_of(spec.shape, k % spec.series, bs.value_of(k), spec.t0_ms + k), qos,
            bs.packet_id(seq),
        )
        for seq, k in enumerate(spec.share(publisher))
    ]  # fmt: skip


def send_flat(sock: socket.socket, packets: list[bytes], acks: AckCounter | None) -> int:
    for start in range(0, len(packets), CHUNK):
        chunk = packets[start : start + CHUNK]
        if acks is not None:
            acks.wait_below(start + len(chunk), WINDOW)
        sock.sendall(b"".join(chunk))
    return len(packets)


class Pacer:
    """Encodes readings on the fly with ``ts`` = now, distinct ms per series."""

    def __init__(self, spec: bs.StreamSpec, publisher: int, qos: int) -> None:
        self.spec, self.qos = spec, qos
        self.topics = [bs.topic(s, spec.shape) for s in range(spec.series)]
        self.indexes = list(spec.share(publisher))
        self.last_ms = [0] * spec.series
        self.seq = 0

    def next_packets(self, count: int) -> bytes:
        now_ms = int(time.time() * 1000)
        out = []
        for k in self.indexes[self.seq : self.seq + count]:
            s = k % self.spec.series
            ts = self.last_ms[s] = max(now_ms, self.last_ms[s] + 1)
            out.append(
                bs.encode_publish(
                    self.topics[s],
                    bs.payload_of(self.spec.shape, s, bs.value_of(k), ts),
                    self.qos,
                    bs.packet_id(self.seq),
                )
            )
            self.seq += 1
        return b"".join(out)


def send_paced(sock: socket.socket, pacer: Pacer, rate: float, acks: AckCounter | None) -> int:
    total, start = len(pacer.indexes), time.monotonic()
    while pacer.seq < total:
        due = min(total, int((time.monotonic() - start) * rate) + 1)
        if due > pacer.seq:
            if acks is not None:
                acks.wait_below(due, WINDOW)
            sock.sendall(pacer.next_packets(due - pacer.seq))
        time.sleep(TICK)
    return total


def finish(sock: socket.socket, acks: AckCounter | None, sent: int) -> None:
    if acks is not None:
        acks.wait_below(sent, 0)
    sock.sendall(bs.DISCONNECT)
    sock.shutdown(socket.SHUT_WR)
    while sock.recv(1 << 16):  # the broker closes after DISCONNECT: all was read
        pass
    sock.close()


def main(argv: Sequence[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    spec = bs.StreamSpec(a.readings, a.series, a.publishers, a.t0_ms, a.shape)
    packets = flat_packets(spec, a.index, a.qos) if a.rate == 0 else []
    pacer = Pacer(spec, a.index, a.qos) if a.rate > 0 else None
    sock = connect(a.port, a.client_id)
    acks = AckCounter(sock) if a.qos else None
    print("ready", flush=True)
    sys.stdin.readline()
    t = time.perf_counter()
    if pacer is None:
        sent = send_flat(sock, packets, acks)
    else:
        sent = send_paced(sock, pacer, a.rate, acks)
    finish(sock, acks, sent)
    print(json.dumps({"published": sent, "seconds": time.perf_counter() - t}), flush=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench_publisher")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--qos", type=int, choices=(0, 1), required=True)
    p.add_argument("--readings", type=int, required=True)
    p.add_argument("--series", type=int, required=True)
    p.add_argument("--publishers", type=int, required=True)
    p.add_argument("--index", type=int, required=True)
    p.add_argument("--t0-ms", type=int, required=True)
    p.add_argument("--rate", type=float, default=0.0, help="msgs/s of this process; 0 = flat out")
    p.add_argument("--client-id", required=True)
    p.add_argument("--shape", choices=bs.SHAPES, default="value")
    return p


if __name__ == "__main__":
    sys.exit(main())
