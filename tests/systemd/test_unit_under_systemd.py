"""systemd/gatewatch.service run by a real systemd as PID 1 (as shipped, but for a
shorter watchdog in a drop-in).

systemd-nspawn boots the host's own systemd in a throw-away container
(``--volatile=yes``: a tmpfs root, the host's /usr read-only, nothing of the
host written). The container gets the unit as shipped, /etc/gatewatch and an
/opt/gatewatch laid out like the README's install (a venv of Debian's
python3 that sees this checkout), and shares the host's loopback with a real
mosquitto. A probe unit inside reads what systemd and the kernel say about
the running service (DynamicUser, capabilities, seccomp, READY/STATUS,
watchdog), drives a reading, a reload and a stop, and powers the container off.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
from servers import Mosquitto, free_port

ROOT = Path(__file__).parents[2]
NSPAWN = shutil.which("systemd-nspawn")
PYTHON = Path("/usr/bin/python3")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        NSPAWN is None or os.geteuid() != 0 or not PYTHON.exists(),
        reason="needs root, Debian's python3 and systemd-nspawn (scripts/setup installs"
        " systemd-container)",
    ),
]

PROBE = """\
set -u
out=/probe/out
py=/opt/gatewatch/bin/python
get() {{ $py -c "import sys, urllib.request as u; print(u.urlopen(sys.argv[1]).read().decode())" \
    "$1"; }}
systemctl show gatewatch -p ActiveState -p SubState -p MainPID -p StatusText -p WatchdogUSec \
    -p WatchdogTimestampMonotonic > $out/show.txt
pid=$(systemctl show -p MainPID --value gatewatch)
cat /proc/$pid/status > $out/service-status.txt
grep -o -e 'numpy/_core/_multiarray_umath[^/]*[.]so' -e 'sklearn/[^ ]*[.]so' /proc/$pid/maps \
    | sort -u > $out/libraries.txt
cat /proc/self/status > $out/probe-status.txt
get http://127.0.0.1:{http}/healthz > $out/healthz.txt
mosquitto_pub -h 127.0.0.1 -p {mqtt} -q 1 -t building/hq/lift-a1/door_close_time -m 3.2 \
    2> $out/publish.txt
for _ in $(seq 100); do
    get http://127.0.0.1:{http}/metrics > $out/metrics.txt
    grep -q '^gatewatch_readings_stored_total 1.0' $out/metrics.txt && break
    sleep 0.2
done
stat -c '%u %a' /var/lib/private/gatewatch /var/lib/private/gatewatch/readings.db \
    > $out/state-dir.txt
systemctl reload gatewatch
for _ in $(seq 100); do
    get http://127.0.0.1:{http}/metrics > $out/metrics-reload.txt
    grep -q 'gatewatch_config_reloads_total{{result="success"}} 1.0' $out/metrics-reload.txt \
        && break
    sleep 0.2
done
sleep 4  # > WatchdogSec: alive only if the pings arrive
systemctl show gatewatch -p WatchdogTimestampMonotonic -p NRestarts -p MainPID \
    > $out/watchdog.txt
systemctl stop gatewatch
systemctl show gatewatch -p Result -p ExecMainStatus -p ActiveState > $out/stop.txt
journalctl -u gatewatch --no-pager -o cat > $out/journal.txt
systemctl --no-block poweroff
"""


# the top-level folders that make up the gatewatch package (pyproject's package-dir)
PACKAGES = tuple(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-dir"
    ].values()
)
DEPS = "/opt/gatewatch-deps"  # where the container sees this test's site-packages


def install(opt: Path) -> None:
    """/opt/gatewatch as the README installs it: a venv of Debian's python3 holding a copy
    of gatewatch. The unit's PrivateTmp hides /tmp, where a CI checkout may well live, so
    nothing the service imports may point there: the code is copied, and the third-party
    packages of this test's environment are bound at DEPS (a plain path line in a .pth,
    so the editable-install hooks in that folder are not run)."""
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", opt], check=True)
    minor = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = opt / "lib" / minor / "site-packages"
    (site / "gatewatch").mkdir()
    for pkg in PACKAGES:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(ROOT / pkg, site / "gatewatch" / pkg, ignore=ignore)
    (site / "gatewatch-deps.pth").write_text(DEPS + "\n")
    script = opt / "bin" / "gatewatch"
    script.write_text(
        "#!/opt/gatewatch/bin/python\nimport sys\nfrom gatewatch.daemon.commands.main import main\n"
        "sys.exit(main())\n"
    )
    script.chmod(0o755)


def layout(tmp: Path, mqtt: int, http: int) -> dict[str, Path]:
    dirs = {name: tmp / name for name in ("units", "etc", "opt", "probe")}
    for d in dirs.values():
        d.mkdir()
    (dirs["probe"] / "out").mkdir()
    shutil.copy(ROOT / "systemd" / "gatewatch.service", dirs["units"])  # as shipped
    # but for one drop-in: a 3 s watchdog, so that pings are seen within the test
    (dirs["units"] / "gatewatch.service.d").mkdir()
    (dirs["units"] / "gatewatch.service.d" / "watchdog.conf").write_text(
        "[Service]\nWatchdogSec=3s\n"
    )
    (dirs["units"] / "probe.target").write_text("[Unit]\nWants=gatewatch.service probe.service\n")
    (dirs["units"] / "probe.service").write_text(
        "[Unit]\nAfter=gatewatch.service\n[Service]\nType=oneshot\n"
        "ExecStart=/bin/sh /probe/run.sh\n"
    )
    (dirs["probe"] / "run.sh").write_text(PROBE.format(http=http, mqtt=mqtt))
    (dirs["etc"] / "credentials").mkdir()
    shutil.copy(ROOT / "config" / "assets.yaml", dirs["etc"])
    shutil.copytree(ROOT / "config" / "rules", dirs["etc"] / "rules")
    (dirs["etc"] / "gatewatch.yaml").write_text(
        "site: hq\nstate_dir: /var/lib/gatewatch\nassets: assets.yaml\n"
        f"mqtt: {{port: {mqtt}, client_id: gw-nspawn}}\nhttp: {{port: {http}}}\n"
        "log: {format: json, level: info}\n"
        "rules: {paths: [/etc/gatewatch/rules]}\n"  # the shipped rules: the anomaly stage on
    )
    install(dirs["opt"])
    return dirs


def boot(dirs: dict[str, Path], machine: str, timeout: float = 300) -> str:
    binds = [
        f"--bind-ro={dirs['units']}:/etc/systemd/system",
        f"--bind-ro={dirs['etc']}:/etc/gatewatch",
        f"--bind-ro={dirs['opt']}:/opt/gatewatch",
        f"--bind={dirs['probe']}:/probe",
        f"--bind-ro={sysconfig.get_path('purelib')}:{DEPS}",
    ]
    argv = [NSPAWN or "", "-q", "--keep-unit", "--register=no", "-D", "/", "--volatile=yes"]
    argv += ["-M", machine, *binds, "-b", "--", "systemd.unit=probe.target"]
    argv += ["systemd.firstboot=off"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for _ in range(2):  # the second SIGTERM makes nspawn terminate the container at once
            proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        pytest.fail(f"the container did not power off within {timeout}s:\n{out[-3000:]}")
    return out


@pytest.fixture(scope="module")
def containers() -> None:
    """Skip (saying why) on a machine whose kernel or sandbox refuses containers at all;
    where a trivial container runs, the unit's test must pass."""
    argv = [NSPAWN or "", "-q", "--register=no", "--keep-unit", "-D", "/", "--volatile=yes"]
    try:
        run = subprocess.run([*argv, "/bin/true"], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.skip("systemd-nspawn did not run /bin/true within 120 s on this machine")
    if run.returncode != 0:
        pytest.skip(f"this machine cannot run systemd-nspawn containers: {run.stderr[-500:]}")


def fields(text: str, sep: str = "=") -> dict[str, str]:
    pairs = (line.split(sep, 1) for line in text.splitlines() if sep in line)
    return {k.strip(): v.strip() for k, v in pairs}


def test_the_shipped_unit_runs_sandboxed_under_systemd(
    tmp_path: Path, mosquitto: Mosquitto, containers: None
) -> None:
    dirs = layout(tmp_path, mosquitto.port, free_port())
    console = boot(dirs, f"gw{os.getpid()}")
    out = dirs["probe"] / "out"
    got = {p.stem: p.read_text() for p in out.iterdir()}
    journal = got.get("journal", "")
    show = fields(got["show"])
    assert (show["ActiveState"], show["SubState"]) == ("active", "running"), (journal, console)
    assert show["StatusText"].startswith("broker connected;")  # STATUS= after READY=1
    assert show["WatchdogUSec"] == "3s"
    svc, probe = fields(got["service-status"], ":"), fields(got["probe-status"], ":")
    uid = int(svc["Uid"].split()[0])
    assert 61184 <= uid <= 65519, "DynamicUser: a UID from systemd's dynamic range"
    assert svc["CapEff"] == svc["CapBnd"] == "0000000000000000"  # CapabilityBoundingSet=
    assert svc["NoNewPrivs"] == "1" and svc["Seccomp"] == "2"
    # nspawn filters every process of the container; systemd adds the unit's own filters
    # (SystemCallFilter, architectures, namespaces, address families, MDWE, ...)
    assert int(svc["Seccomp_filters"]) > int(probe["Seccomp_filters"])
    libraries = got["libraries"]  # the anomaly stack runs inside the seccomp sandbox
    assert "numpy/_core/_multiarray_umath" in libraries and "sklearn/" in libraries
    assert '"ok": true' in got["healthz"] and '"failing": []' in got["healthz"]
    assert re.search(r"^gatewatch_readings_stored_total 1\.0$", got["metrics"], re.M)
    state_dir, db = (line.split() for line in got["state-dir"].splitlines())
    assert state_dir == [str(uid), "700"] and db[0] == str(uid)  # StateDirectory, UMask
    assert 'gatewatch_config_reloads_total{result="success"} 1.0' in got["metrics-reload"]
    watchdog = fields(got["watchdog"])  # seconds later: pinged since, never restarted
    assert int(watchdog["WatchdogTimestampMonotonic"]) > int(show["WatchdogTimestampMonotonic"])
    assert watchdog["NRestarts"] == "0" and watchdog["MainPID"] == show["MainPID"]
    stop = fields(got["stop"])
    assert (stop["Result"], stop["ExecMainStatus"], stop["ActiveState"]) == (
        "success",
        "0",
        "inactive",
    )
    assert "Permission denied" not in journal and "SIGSYS" not in journal
