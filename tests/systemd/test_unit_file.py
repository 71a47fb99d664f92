"""systemd/gatewatch.service: verifies cleanly, is hardened, and fits the daemon.

``systemd-analyze verify`` and ``systemd-analyze security --offline=true`` only
read unit files, so they run without systemd as PID 1 (containers, CI). The
unit is verified inside a throw-away root (``--root``) holding the host's
system units and a stand-in for every program the unit executes, so a missing
/opt/gatewatch does not hide other problems.
"""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from gatewatch.daemon.run.ingest_stage import DRAIN_TIMEOUT
from gatewatch.sensors.store.influx_settings import InfluxSettings
from gatewatch.sensors.writer import StoreWriter

UNIT = Path(__file__).parents[2] / "systemd" / "gatewatch.service"
HOST_UNITS = Path("/usr/lib/systemd/system")
MAX_EXPOSURE = 2.0

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze missing: scripts/setup installs Debian's systemd package",
)


def directives(text: str) -> dict[str, list[str]]:
    """Key -> every value it is given (systemd allows repeated keys)."""
    out: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def seconds(value: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|min)?", value)
    assert m, f"unsupported time span {value!r}"
    return float(m[1]) * (60 if m[2] == "min" else 1)


def verify(unit_text: str, root: Path) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze verify`` of ``unit_text`` as /etc/systemd/system/gatewatch.service."""
    shutil.copytree(HOST_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    (root / "etc/systemd/system/gatewatch.service").write_text(unit_text)
    for key, values in directives(unit_text).items():
        if key.startswith("Exec"):
            for value in values:
                program = root / value.lstrip("-@:+!").split()[0].lstrip("/")
                program.parent.mkdir(parents=True, exist_ok=True)
                program.write_text("#!/bin/sh\n")
                program.chmod(0o755)
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={root}", "gatewatch.service"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def exposure(unit: Path) -> float:
    out = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out)
    assert m, f"no exposure figure in:\n{out}"
    return float(m[1])


def test_unit_verifies_without_any_warning(tmp_path: Path) -> None:
    result = verify(UNIT.read_text(), tmp_path / "root")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    broken = UNIT.read_text().replace("Type=notify", "Type=notifyy")
    result = verify(broken, tmp_path / "root")
    assert "Failed to parse service type" in result.stderr


def test_exposure_is_at_most_two() -> None:
    assert exposure(UNIT) <= MAX_EXPOSURE


def test_exposure_figure_reacts_to_hardening(tmp_path: Path) -> None:
    bare = tmp_path / "gatewatch.service"
    text = UNIT.read_text()
    bare.write_text(text[: text.index("# Hardening")] + "\n[Install]\nWantedBy=multi-user.target\n")
    assert exposure(bare) > MAX_EXPOSURE + 3


def test_unit_runs_the_daemon_as_systemd_expects() -> None:
    d = directives(UNIT.read_text())
    run = "/opt/gatewatch/bin/gatewatch run --config /etc/gatewatch/gatewatch.yaml"
    assert d["ExecStart"] == [run]
    assert d["Type"] == ["notify"]
    assert d["Restart"] == ["on-failure"]
    assert d["StateDirectory"] == ["gatewatch"]
    assert d["ConfigurationDirectory"] == ["gatewatch"]
    assert d["LoadCredential"] == ["gatewatch:/etc/gatewatch/credentials"]
    assert d["CapabilityBoundingSet"] == [""]
    assert d["RestrictAddressFamilies"] == ["AF_INET AF_INET6 AF_UNIX"]
    assert "@system-service" in d["SystemCallFilter"]


def test_stop_timeout_leaves_room_for_the_drain() -> None:
    d = directives(UNIT.read_text())
    writer_stop = inspect.signature(StoreWriter.stop).parameters["timeout"].default
    last_forward = 2 * InfluxSettings("http://x", "o", "b").timeout + 5  # InfluxForwarder.stop
    assert seconds(d["TimeoutStopSec"][0]) >= DRAIN_TIMEOUT + writer_stop + last_forward
    assert seconds(d["WatchdogSec"][0]) >= 10  # pings every half: room for a slow GC pause
