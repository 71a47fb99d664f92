"""A page as headless Chromium renders it (Debian's chromium, no network of its own)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def chromium_dom(url: str, profile: Path) -> str:
    exe = shutil.which("chromium")
    assert exe, "chromium is missing: run scripts/setup"
    res = subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout
