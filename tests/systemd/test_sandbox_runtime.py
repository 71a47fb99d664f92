"""`gatewatch run` under the two unit settings most likely to break Python at run
time, applied with the same kernel mechanisms: NoNewPrivileges=yes
(PR_SET_NO_NEW_PRIVS) and MemoryDenyWriteExecute=yes (PR_SET_MDWE, which
systemd uses where the kernel has it; Linux 6.3+). The anomaly stack (numpy,
scikit-learn, threadpoolctl's ctypes callbacks) is loaded in the same process.

The whole sandbox (namespaces, seccomp, DynamicUser) under a real systemd as
PID 1: test_unit_under_systemd.py (systemd-nspawn).
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest
from gateway_process import Gateway, wait_for
from servers import Mosquitto, publish_many

pytestmark = pytest.mark.slow
PR_SET_NO_NEW_PRIVS, PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, PR_GET_MDWE = 38, 65, 1, 66


def libc_prctl(*args: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.prctl(*args, *[0] * (5 - len(args))))


def harden() -> None:
    if libc_prctl(PR_SET_NO_NEW_PRIVS, 1) != 0 or libc_prctl(PR_SET_MDWE, 1) != 0:
        os._exit(97)


def mdwe_supported() -> bool:
    return libc_prctl(PR_GET_MDWE) >= 0


@pytest.mark.skipif(not mdwe_supported(), reason="kernel without PR_SET_MDWE (Linux < 6.3)")
def test_daemon_runs_with_no_new_privileges_and_no_write_execute(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import ctypes, numpy, threadpoolctl\n"
        "from sklearn.ensemble import IsolationForest\n"
        "IsolationForest(n_estimators=5).fit(numpy.random.rand(50, 2))\n"
        "assert threadpoolctl.threadpool_info()\n"
        "assert ctypes.CFUNCTYPE(ctypes.c_int)(lambda: 7)() == 7\n"
        "import mmap\n"
        "try:\n"
        "    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
        "except PermissionError:\n"
        "    print('W+X refused')\n"
        "print(open('/proc/self/status').read())\n"
    )
    status = subprocess.run(
        [sys.executable, str(probe)], preexec_fn=harden, capture_output=True, text=True, check=True
    ).stdout
    assert "NoNewPrivs:\t1" in status
    assert "W+X refused" in status  # MDWE is really on, and the stack above still ran

    gw = Gateway(tmp_path, mosquitto.port, preexec=harden).start()
    try:
        gw.wait_http()
        wait_for(lambda: gw.healthz()[0] == 200, 20, "/healthz 200")
        publish_many(mosquitto.port, [("building/hq/lift-a1/speed", b"1.5")] * 5)
        wait_for(lambda: gw.metrics()["gatewatch_readings_stored_total"] == 5, 20, "5 stored")
    finally:
        assert gw.stop() == 0
