"""`gatewatch ... | head`: a reader that goes away early is not an error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RULES = Path(__file__).parents[3] / "config" / "rules" / "fire.yaml"


def test_a_closed_stdout_ends_quietly_with_0() -> None:
    argv = [sys.executable, "-m", "gatewatch.daemon.commands.main", "rules", "check", str(RULES)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the command prints anything
    code = proc.wait(timeout=60)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert code == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err
