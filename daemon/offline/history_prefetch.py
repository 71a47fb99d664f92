"""Read a backtest's history in a child process, a window ahead of the replay.

Stepping SQLite and building a Python tuple per row costs about as much as
the rule engine spends on the row, all of it in the one thread the engine
needs. Here a child process (``python -m gatewatch.daemon.offline.history_prefetch``,
which imports only the reader) runs ``windowed_rows`` and writes each window
to a pipe as one marshal frame; the parent only unmarshals (exact: floats
travel as their 8 bytes). The pipe's backpressure keeps at most about a window
in the child, one in the pipe and one in the replay, so memory stays bounded.

Frames: one kind byte (R rows, E error, D done), an 8-byte little-endian
length, the payload.
"""

from __future__ import annotations

import marshal
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from gatewatch.daemon.offline.history_windows import windowed_rows

Rows = list[tuple[int, float, float]]
_HEAD = 9


def prefetched_rows(db: Path, start_ms: int, end_ms: int) -> Iterator[Rows]:
    """``windowed_rows`` of the store at ``db``, read by a child process; a database
    error in the child is raised here as ``sqlite3.OperationalError``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    argv = [sys.executable, "-m", __name__, str(db), str(start_ms), str(end_ms)]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    try:
        yield from _read_frames(proc.stdout)
    finally:
        if proc.poll() is None:
            proc.kill()  # the replay stopped early
        proc.stdout.close()
        proc.wait()


def _read_frames(stream: IO[bytes]) -> Iterator[Rows]:
    while len(head := stream.read(_HEAD)) == _HEAD:
        payload = stream.read(int.from_bytes(head[1:], "little"))
        if head[:1] == b"R":
            yield marshal.loads(payload)  # noqa: S302 - our own child's rows, a private pipe
        elif head[:1] == b"E":
            raise sqlite3.OperationalError(payload.decode())
        else:
            return
    raise sqlite3.OperationalError("the history reader process ended before the last reading")


def serve(db: str, start_ms: int, end_ms: int, out: IO[bytes]) -> None:
    """The child: every window of [start_ms, end_ms) as a frame on ``out``, then D."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            for rows in windowed_rows(conn, start_ms, end_ms):
                _frame(out, b"R", marshal.dumps(rows))
        finally:
            conn.close()
    except sqlite3.Error as exc:
        _frame(out, b"E", f"{db}: {exc}".encode())
        return
    _frame(out, b"D", b"")


def _frame(out: IO[bytes], kind: bytes, payload: bytes) -> None:
    out.write(kind + len(payload).to_bytes(_HEAD - 1, "little"))
    out.write(payload)
    out.flush()


if __name__ == "__main__":
    try:
        serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.stdout.buffer)
    except BrokenPipeError:  # the replay stopped early and closed the pipe
        os._exit(0)
