"""Processes of the ingest benchmark: the broker, the publishers, the consumers.

Each consumer (mosquitto_sub as the reference, gatewatch, the paho
comparison) takes the same stream from the same broker in its own phase,
while the publisher processes send it; timing starts when the publishers
are told to go (they are connected and have encoded their packets by then).
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatewatch.daemon.bench import stream as bs

# The gateway snippet (config/mosquitto-gatewatch.conf) without persistence:
# the bench broker lives in a temp dir for one run, and autosaves would only
# add disk noise to the figures.
BROKER_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 0
log_dest stderr
log_type error
log_type warning
"""
START_TIMEOUT = 15.0
POLL = 0.002


class BenchError(Exception):
    """A benchmark process failed; the message says which and why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"mosquitto exited with code {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise BenchError(f"mosquitto does not listen on 127.0.0.1:{port}")


def _binary(name: str, fallback: str) -> str:
    path = shutil.which(name) or (fallback if Path(fallback).exists() else None)
    if path is None:
        raise BenchError(f"{name} not found; install the Debian packages mosquitto and "
                         "mosquitto-clients (scripts/setup does)")  # fmt: skip
    return path


class Broker:
    """mosquitto on a free loopback port, in ``workdir``, for one benchmark run."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Broker:
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(BROKER_CONF.format(port=self.port))
        binary = _binary("mosquitto", "/usr/sbin/mosquitto")
        with (self.workdir / "mosquitto.log").open("wb") as log:
            self.proc = subprocess.Popen(
                [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=log
            )
        _wait_port(self.port, self.proc)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)

    @staticmethod
    def version() -> str:
        out = subprocess.run(
            [_binary("mosquitto", "/usr/sbin/mosquitto"), "-h"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        first = (out.stdout or out.stderr).splitlines()[:1]
        return first[0].replace("mosquitto version ", "") if first else "unknown"


def _spawn(module: str, argv: Sequence[str], log: Path) -> subprocess.Popen[str]:
    with log.open("w") as err:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", module, *argv],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
        )  # fmt: skip


def _expect_ready(proc: subprocess.Popen[str], what: str, log: Path) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if line != "ready":
        proc.kill()
        raise BenchError(f"{what} did not start: {line or log.read_text()[-2000:]}")


@dataclass
class Publishers:
    """The publisher processes of one phase: connected, packets ready, waiting to go."""

    procs: list[subprocess.Popen[str]]
    logs: list[Path]

    @classmethod
    def start(
        cls, spec: bs.StreamSpec, qos: int, port: int, workdir: Path, rate: float = 0.0
    ) -> Publishers:
        procs, logs = [], []
        for i in range(spec.publishers):
            share_rate = rate * spec.share_size(i) / spec.readings
            argv = [
                f"--port={port}", f"--qos={qos}", f"--readings={spec.readings}",
                f"--series={spec.series}", f"--publishers={spec.publishers}", f"--index={i}",
                f"--t0-ms={spec.t0_ms}", f"--rate={share_rate}",
                f"--client-id=bench-pub-{workdir.name}-{i}", f"--shape={spec.shape}",
            ]  # fmt: skip
            logs.append(workdir / f"publisher-{i}.log")
            procs.append(_spawn("gatewatch.daemon.bench.publisher", argv, logs[-1]))
        for proc, log in zip(procs, logs, strict=True):
            _expect_ready(proc, "a publisher", log)
        return cls(procs, logs)

    def go(self) -> float:
        """Release all publishers at once; return the wall-clock start."""
        start = time.time()
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        return start

    @property
    def running(self) -> bool:
        return any(p.poll() is None for p in self.procs)

    def wait(self, timeout: float) -> int:
        """Wait for all; return how many messages the broker accepted."""
        published = 0
        for proc, log in zip(self.procs, self.logs, strict=True):
            out, _ = proc.communicate(timeout=timeout)
            if proc.returncode != 0 or not out.strip():
                raise BenchError(f"a publisher failed: {log.read_text()[-2000:]}")
            published += int(json.loads(out.strip().splitlines()[-1])["published"])
        return published

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@dataclass(frozen=True)
class RefResult:
    received: int
    end: float  # wall clock when mosquitto_sub exited (or gave up)


def run_reference(
    spec: bs.StreamSpec, qos: int, port: int, workdir: Path, idle: float
) -> tuple[RefResult, float, int]:
    """mosquitto_sub -C N on the stream: (result, start, published)."""
    sub_bin = _binary("mosquitto_sub", "/usr/bin/mosquitto_sub")
    cid = f"bench-ref-{workdir.name}"
    base = [sub_bin, "-p", str(port), "-c", "-i", cid, "-q", str(qos)]
    base += ["-t", bs.topic_filter(spec.shape)]
    if spec.shape == "sparkplug":  # binary payloads: one hex line each, so lines count them
        base += ["-F", "%x"]
    # register the persistent session first: nothing published later can miss it
    subprocess.run([*base, "-E"], check=True, timeout=START_TIMEOUT)
    out_path = workdir / "mosquitto_sub.out"
    with out_path.open("wb") as out:
        sub = subprocess.Popen([*base, "-C", str(spec.readings)], stdout=out)
    pubs = Publishers.start(spec, qos, port, workdir)
    try:
        start = pubs.go()
        end = _wait_reference(sub, pubs, out_path, idle)
        published = pubs.wait(timeout=START_TIMEOUT)
    finally:
        pubs.kill()
        if sub.poll() is None:
            sub.kill()
        sub.wait()
        forget_session(port, cid)
    received = out_path.read_bytes().count(b"\n")
    return RefResult(received, end), start, published


def _wait_reference(
    sub: subprocess.Popen[bytes], pubs: Publishers, out: Path, idle: float
) -> float:
    size, changed = -1, time.monotonic()
    while sub.poll() is None:
        time.sleep(POLL)
        if pubs.running:
            continue
        now, new_size = time.monotonic(), out.stat().st_size
        if new_size != size:
            size, changed = new_size, now
        elif now - changed > idle:
            sub.terminate()  # the rest was lost on the way
            return time.time() - idle
    return time.time()


def forget_session(port: int, client_id: str) -> None:
    """End a phase's persistent session, or the broker would keep queueing the
    next phases' messages for it and slow down (a clean-session connect drops it)."""
    sub_bin = _binary("mosquitto_sub", "/usr/bin/mosquitto_sub")
    subprocess.run(
        [sub_bin, "-p", str(port), "-i", client_id, "-t", "bench/forget", "-E"],
        check=True, timeout=START_TIMEOUT, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def run_consumer(
    spec: bs.StreamSpec,
    qos: int,
    port: int,
    workdir: Path,
    options: Sequence[str],
    *,
    rate: float = 0.0,
) -> tuple[dict[str, Any], float, int]:
    """A bench_consumer process on the stream: (its result, start, published)."""
    workdir.mkdir()
    argv = [
        f"--port={port}", f"--qos={qos}", f"--series={spec.series}",
        f"--expected={spec.readings}", f"--client-id=bench-{workdir.name}",
        f"--workdir={workdir}", f"--shape={spec.shape}", *options,
    ]  # fmt: skip
    log = workdir / "consumer.log"
    consumer = _spawn("gatewatch.daemon.bench.consumer", argv, log)
    try:
        _expect_ready(consumer, "the consumer", log)
        pubs = Publishers.start(spec, qos, port, workdir, rate)
        try:
            start = pubs.go()
            timeout = 120.0 + spec.readings / 500.0
            out, _ = consumer.communicate(timeout=timeout)
            published = pubs.wait(timeout=START_TIMEOUT)
        finally:
            pubs.kill()
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait()
        forget_session(port, f"bench-{workdir.name}")
    if consumer.returncode != 0 or not out.strip():
        raise BenchError(f"the consumer failed: {log.read_text()[-2000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result, start, published
