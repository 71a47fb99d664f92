"""Start a private mosquitto broker on a free loopback port (demo, benchmark)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


class BrokerUnavailableError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_mosquitto() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in MOSQUITTO_PATHS if Path(p).exists()), None
    )
    if found is None:
        raise BrokerUnavailableError(
            "mosquitto is not installed; install it with `apt-get install mosquitto` "
            "(scripts/setup does this)"
        )
    return found


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; nothing if it is not running."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class LocalMosquitto:
    """A mosquitto subprocess in ``workdir`` listening on 127.0.0.1:<port>."""

    def __init__(
        self, workdir: Path, *, port: int | None = None, extra: str = "", anonymous: bool = True
    ) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.extra = extra
        self.anonymous = anonymous
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> LocalMosquitto:
        conf = self.workdir / "mosquitto.conf"
        # user root: started by root, mosquitto would otherwise switch to its own
        # user and could no longer write the persistence file in our workdir.
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"allow_anonymous {'true' if self.anonymous else 'false'}\nuser root\n"
            f"persistence true\npersistence_location {self.workdir}/\nautosave_interval 1\n"
            "max_queued_messages 1000000\nmax_inflight_messages 0\n"
            f"log_dest file {self.workdir}/mosquitto.log\n{self.extra}"
        )
        self.proc = subprocess.Popen(
            [find_mosquitto(), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise BrokerUnavailableError(f"mosquitto did not start; see {self.workdir}/mosquitto.log")

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> LocalMosquitto:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
