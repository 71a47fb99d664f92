"""amqtt (PyPI), a pure-Python MQTT 3.1.1-only broker, as a second broker implementation.

It lives in its own venv (``.venv-brokers``, made by scripts/setup) because its
dependencies (pydantic, typer, ...) are not gatewatch's. It keeps sessions in
memory only, so a restart loses them; and it keeps no session of an anonymous
client, so it runs with anonymous access off and every client names a user
(``USER``; its AnonymousAuthPlugin then accepts any name without a password).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from gatewatch.daemon.demo.broker import stop_process
from servers import free_port, wait_port

ROOT = Path(__file__).resolve().parent.parent
AMQTT = Path(os.environ.get("GATEWATCH_AMQTT", ROOT / ".venv-brokers" / "bin" / "amqtt"))
USER = "gw-tests"


class Amqtt:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Amqtt:
        if not AMQTT.exists():
            pytest.fail(
                f"{AMQTT} is missing: run scripts/setup (it installs amqtt in .venv-brokers)"
            )
        conf = self.workdir / "amqtt.yaml"
        conf.write_text(
            "listeners:\n  default:\n    type: tcp\n"
            f"    bind: 127.0.0.1:{self.port}\n"
            "plugins:\n  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
            "    allow_anonymous: false\n"
        )
        with (self.workdir / "amqtt.log").open("ab") as log:
            self.proc = subprocess.Popen([str(AMQTT), "-c", str(conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while True:
            try:
                wait_port(self.port, timeout=0.5)
                return self
            except TimeoutError:
                log_tail = (self.workdir / "amqtt.log").read_text(errors="replace")[-2000:]
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"amqtt did not start:\n{log_tail}") from None

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        time.sleep(0.2)
        self.start()
