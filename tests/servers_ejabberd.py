"""ejabberd (Debian, 23.01 on bookworm): an XMPP server whose mod_mqtt is an MQTT 5 and
3.1.1 broker, as a third broker implementation for the interop tests.

A private instance: its own config, spool and log folders and Erlang node name, on
a free loopback port, in its own process group (ejabberdctl runs beam under a
shell). Anonymous login ("login_anon"): any user name with any password.
ejabberd caps the session expiry at 300 s by default, which gatewatch logs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from servers import free_port, wait_port

EJABBERDCTL = shutil.which("ejabberdctl") or "/usr/sbin/ejabberdctl"
USER, PASSWORD = "gw-tests", "any"


class Ejabberd:
    """``remove()`` when done: the folder lives outside pytest's tmp_path, whose parents
    the ejabberd user (ejabberdctl drops root to it) may not enter."""

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="gatewatch-ejabberd-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Ejabberd:
        if not Path(EJABBERDCTL).exists():
            pytest.fail("ejabberdctl is missing: run scripts/setup (it installs ejabberd)")
        for sub in ("spool", "logs"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        conf, ctl = self.workdir / "ejabberd.yml", self.workdir / "ejabberdctl.cfg"
        conf.write_text(
            "hosts:\n  - localhost\nloglevel: info\n"
            "auth_method: [anonymous]\nanonymous_protocol: login_anon\n"
            f'listen:\n  -\n    port: {self.port}\n    ip: "127.0.0.1"\n'
            "    module: mod_mqtt\n    backlog: 1000\n"
            "modules:\n  mod_mqtt: {}\n"
        )
        # Debian's ejabberdctl.cfg names /etc/ejabberd/ejabberd.yml: ours names ours
        ctl.write_text(f'ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0"\nEJABBERD_CONFIG_PATH={conf}\n')
        for path in (self.workdir, *self.workdir.rglob("*")):
            path.chmod(0o777)  # ejabberdctl runs beam as the ejabberd user
        env = {**os.environ, "EJABBERD_CONFIG_PATH": str(conf)}
        with (self.workdir / "ejabberd.out").open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    EJABBERDCTL, "--ctl-config", str(ctl), "--config", str(conf),
                    "--logs", str(self.workdir / "logs"), "--spool", str(self.workdir / "spool"),
                    "--node", f"gwtest{self.port}@localhost", "foreground",
                ],
                stdout=out, stderr=out, env=env, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                wait_port(self.port, timeout=0.5)
                return self
            except TimeoutError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    tail = (self.workdir / "ejabberd.out").read_text(errors="replace")[-2000:]
                    self.stop()
                    raise RuntimeError(f"ejabberd did not start:\n{tail}") from None

    def pids(self) -> list[int]:
        """The beam process(es) of this node."""
        got = subprocess.run(
            ["pgrep", "-f", f"gwtest{self.port}@localhost"], capture_output=True, text=True,
            check=False,
        )  # fmt: skip
        return [int(p) for p in got.stdout.split()]

    def stop(self) -> None:
        """beam runs under su, outside our process group: find it by its node name."""
        if self.proc is None:
            return
        node = f"gwtest{self.port}@localhost"
        subprocess.run(["pkill", "-TERM", "-f", node], check=False)
        deadline = time.monotonic() + 20
        while (
            subprocess.run(["pgrep", "-f", node], capture_output=True, check=False).returncode == 0
        ):
            if time.monotonic() > deadline:
                subprocess.run(["pkill", "-KILL", "-f", node], check=False)
                break
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def restart(self) -> None:
        self.stop()
        time.sleep(0.5)
        self.start()
