"""Store-and-forward from the local SQLite store to InfluxDB (or VictoriaMetrics).

Every reading SqliteStore makes durable is also queued in ``forward_queue`` in
the same transaction. This forwarder runs in its own thread: it reads the head
of the queue in seq order, ``settings.batch_size`` rows at a time, writes them
as line protocol (layout in :mod:`gatewatch.sensors.store.lineproto`) through
influxdb-client's synchronous write API on ``/api/v2/write`` with millisecond
precision, and deletes the rows only once the server has answered 2xx. While
the server is down nothing is deleted: the queue grows in SQLite, and the
forwarder retries the same head with exponential backoff and jitter, so the
backfill arrives complete and in order when the server returns.

What the server says decides what happens (``classify``):

- 2xx: accepted, rows deleted;
- no answer, 408, 425, 429, 5xx: retry later (honouring Retry-After);
- 401, 403, 404: the token, org or bucket is wrong; retry later, logged as an
  error that says what to fix; the data waits, it is not dropped;
- any other 4xx (400 malformed, 413 too large, 422 unprocessable): the data
  itself is refused. The batch is split in halves until the refused readings
  are isolated; those are moved to ``forward_parked`` with the server's reason,
  logged and counted, and everything around them is delivered. A breaker
  stops parking when ``park_breaker`` readings in a row are refused with
  nothing accepted in between: then the server refuses everything (a proxy, a
  wrong endpoint), which is a problem to fix, not bad data to set aside.

Lag is exposed by :meth:`InfluxForwarder.lag` as plain figures. The token is
sent to the server only; it is never logged.
"""

from __future__ import annotations

import random
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import structlog
import urllib3
from gatewatch.sensors.backoff import Backoff
from gatewatch.sensors.ratelimit import RateLimiter
from gatewatch.sensors.store.base import ForwardLag
from gatewatch.sensors.store.forward_queue import ForwardQueue, QueuedRow, queue_figures
from gatewatch.sensors.store.influx_settings import InfluxSettings
from gatewatch.sensors.store.lineproto import UnsendableError, line, series_prefix
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

log = structlog.get_logger("gatewatch.influx")
RETRY_AFTER_MAX = 300.0
LAG_LOG_EVERY = 60.0
DETAIL_MAX = 300


class Verdict(Enum):
    ACCEPTED = "accepted"
    RETRY = "retry"  # server down, overloaded or slow: the same rows again later
    CONFIG = "config"  # token, org or bucket wrong: the same rows again later, loudly
    REJECTED = "rejected"  # the data is refused: split, then park what is refused


def classify(status: int | None) -> Verdict:
    """What an HTTP status (None: no answer at all) means for the rows sent."""
    if status is None:
        return Verdict.RETRY
    if 200 <= status < 300:
        return Verdict.ACCEPTED
    if status in (408, 425, 429) or status >= 500:
        return Verdict.RETRY
    if status in (401, 403, 404):
        return Verdict.CONFIG
    if 400 <= status < 500:
        return Verdict.REJECTED
    return Verdict.RETRY


@dataclass(frozen=True, slots=True)
class Attempt:
    verdict: Verdict
    detail: str = ""
    retry_after: float | None = None


class InfluxForwarder:
    """The forwarding thread. ``start`` after the store exists, ``stop`` before closing it."""

    def __init__(
        self,
        store_path: Path,
        settings: InfluxSettings,
        *,
        clock: Callable[[], float] = time.time,
        retry_min: float = 0.5,
        retry_max: float = 30.0,
        park_breaker: int = 100,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.store_path = store_path
        self.settings = settings
        self.clock = clock
        self.park_breaker = park_breaker
        self._backoff = Backoff(retry_min, retry_max, rng)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._limiter = RateLimiter(60.0)
        self._prefixes: dict[int, str | UnsendableError] = {}
        self._thread: threading.Thread | None = None
        self._queue: ForwardQueue | None = None
        self._client: InfluxDBClient | None = None
        self._write: Any = None
        self._sent = self._failures = self._consecutive = self._refused_in_a_row = 0
        self._last_success: float | None = None
        self._failing_since: float | None = None

    def start(self) -> None:
        self._queue = ForwardQueue(self.store_path)
        s = self.settings
        self._client = InfluxDBClient(
            url=s.url, token=s.token, org=s.org, timeout=max(1, round(s.timeout * 1000))
        )
        self._write = self._client.write_api(write_options=SYNCHRONOUS)
        self._thread = threading.Thread(target=self._run, name="influx-forwarder", daemon=True)
        self._thread.start()
        log.info("influx_forwarder_started", url=safe_url(s.url), org=s.org, bucket=s.bucket)

    def stop(self) -> None:
        """Send one last batch if the server is up, then stop; what is left stays queued."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(2 * self.settings.timeout + 5)
            if self._thread.is_alive():
                log.warning("influx_forwarder_stop_timeout", note="queued rows stay in SQLite")
                return
        if self._client is not None:
            self._client.close()  # type: ignore[no-untyped-call]
        if self._queue is not None:
            self._queue.close()
        log.info("influx_forwarder_stopped", **_public(self.lag()))

    def lag(self) -> ForwardLag:
        """A snapshot of the forwarding lag; safe to call from any thread."""
        figures = queue_figures(self.store_path)
        age = 0.0
        if figures.head_ts_ms is not None:
            age = max(0.0, self.clock() - figures.head_ts_ms / 1000.0)
        with self._lock:
            return ForwardLag(
                queued=figures.queued,
                oldest_age_s=age,
                last_success=self._last_success,
                failures=self._failures,
                consecutive_failures=self._consecutive,
                parked=figures.parked,
                sent=self._sent,
            )

    # -- the thread -------------------------------------------------------------

    def _run(self) -> None:
        next_report = time.monotonic() + LAG_LOG_EVERY
        while not self._stopping.is_set():
            delay = self._guarded(self._cycle)
            if time.monotonic() >= next_report:
                next_report = time.monotonic() + LAG_LOG_EVERY
                self._guarded(self._report_lag)
            if delay > 0:
                self._stopping.wait(delay)
        if self._consecutive == 0:  # the server is up: send what the drain just stored
            self._guarded(self._cycle)

    def _guarded(self, step: Callable[[], float]) -> float:
        try:
            return step()
        except Exception:  # a broken database or a bug must not end forwarding
            log.exception("influx_forwarder_error")
            return float(self._backoff.next())

    def _report_lag(self) -> float:
        lag = self.lag()
        if lag.queued or lag.consecutive_failures:
            log.info("influx_lag", **_public(lag))
        return 0.0

    def _cycle(self) -> float:
        """Forward one batch; return how long to wait before the next one."""
        assert self._queue is not None
        rows = self._queue.head(self.settings.batch_size)
        if not rows:
            return float(self.settings.flush_interval)
        failed = self._deliver(rows)
        if failed is not None:
            return self._failed(failed)
        self._recovered()
        return 0.0 if len(rows) == self.settings.batch_size else self.settings.flush_interval

    def _deliver(self, rows: Sequence[QueuedRow]) -> Attempt | None:
        """Send rows in order, isolating refused ones; the failed attempt if it must wait."""
        good, lines = self._encode(rows)
        pending = [(0, len(good))]  # [start, end) runs of good/lines, next run last
        while pending:
            start, end = pending.pop()
            if start == end:
                continue
            attempt = self._send(lines[start:end])
            if attempt.verdict is Verdict.ACCEPTED:
                self._accepted(good[start:end])
            elif attempt.verdict is Verdict.REJECTED and end - start > 1:
                mid = (start + end) // 2
                pending += [(mid, end), (start, mid)]  # the first half goes first: order kept
            elif attempt.verdict is Verdict.REJECTED and self._refused_in_a_row < self.park_breaker:
                self._refused_in_a_row += 1
                self._park(good[start:end], attempt.detail)
            elif attempt.verdict is Verdict.REJECTED:
                return Attempt(Verdict.CONFIG, f"breaker open: {attempt.detail}")
            else:
                return attempt
        return None

    def _send(self, lines: Sequence[str]) -> Attempt:
        try:
            self._write.write(
                bucket=self.settings.bucket,
                org=self.settings.org,
                record="\n".join(lines),
                write_precision=WritePrecision.MS,
            )
        except ApiException as exc:
            detail = f"HTTP {exc.status}: {_short(exc.message)}"
            return Attempt(classify(exc.status), detail, _seconds(exc.retry_after))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return Attempt(Verdict.RETRY, f"{type(exc).__name__}: {_short(str(exc))}")
        return Attempt(Verdict.ACCEPTED)

    def _encode(self, rows: Sequence[QueuedRow]) -> tuple[list[QueuedRow], list[str]]:
        """Rows line protocol can carry, with their lines; the others are parked unsent."""
        prefixes = self._prefixes
        self._load_series({r.series_id for r in rows} - prefixes.keys())
        good: list[QueuedRow] = []
        lines: list[str] = []
        for r in rows:
            prefix = prefixes[r.series_id]
            try:
                if isinstance(prefix, UnsendableError):
                    raise prefix
                lines.append(line(prefix, r.ts_ms, r.value))
            except UnsendableError as exc:
                self._park([r], str(exc))
                continue
            good.append(r)
        return good, lines

    def _load_series(self, ids: set[int]) -> None:
        if not ids:
            return
        assert self._queue is not None
        known = self._queue.series(ids)
        for sid in ids:
            tags = known.get(sid)
            try:
                if tags is None:
                    raise UnsendableError(f"series id {sid} is missing from the series table")
                self._prefixes[sid] = series_prefix(tags.site, tags.asset, tags.metric, tags.unit)
            except UnsendableError as exc:
                self._prefixes[sid] = exc

    # -- bookkeeping --------------------------------------------------------------

    def _accepted(self, rows: Sequence[QueuedRow]) -> None:
        assert self._queue is not None
        self._queue.ack(rows)
        with self._lock:
            self._sent += len(rows)
            self._last_success = self.clock()
        self._refused_in_a_row = 0

    def _park(self, rows: Sequence[QueuedRow], reason: str) -> None:
        assert self._queue is not None
        now = self.clock()
        self._queue.park(rows, reason, now)
        first = rows[0]
        suppressed = self._limiter.allow(("parked", first.series_id, reason), now)
        if suppressed is not None:
            log.error(
                "influx_reading_parked",
                reason=reason,
                series=self._describe(first.series_id),
                seq=first.seq,
                ts_ms=first.ts_ms,
                readings=len(rows),
                suppressed=suppressed,
                fix="the server will never accept it: inspect forward_parked in readings.db",
            )

    def _failed(self, attempt: Attempt) -> float:
        now = self.clock()
        with self._lock:
            self._failures += 1
            self._consecutive += 1
            if self._failing_since is None:
                self._failing_since = now
        delay = float(self._backoff.next())
        if attempt.retry_after is not None:
            delay = max(delay, min(attempt.retry_after, RETRY_AFTER_MAX))
        suppressed = self._limiter.allow(("failed", attempt.verdict), now)
        if suppressed is not None:
            self._log_failure(attempt, delay, suppressed)
        return delay

    def _log_failure(self, attempt: Attempt, delay: float, suppressed: int) -> None:
        fields = {
            "url": safe_url(self.settings.url),
            "bucket": self.settings.bucket,
            "error": attempt.detail,
            "retry_in_s": round(delay, 2),
            "suppressed": suppressed,
        }
        if attempt.verdict is Verdict.CONFIG:
            log.error(
                "influx_write_refused",
                fix="check influxdb.url, org, bucket and the token (token_env/token_file)",
                **fields,
            )
        else:
            log.warning("influx_write_failed", note="readings wait in SQLite", **fields)

    def _recovered(self) -> None:
        with self._lock:
            consecutive, since = self._consecutive, self._failing_since
            self._consecutive, self._failing_since = 0, None
        self._backoff.reset()
        if consecutive:
            outage = self.clock() - since if since is not None else 0.0
            log.info(
                "influx_write_recovered", failed_attempts=consecutive, outage_s=round(outage, 1)
            )

    def _describe(self, series_id: int) -> str:
        assert self._queue is not None
        tags = self._queue.series([series_id]).get(series_id)
        return f"#{series_id}" if tags is None else f"{tags.site}/{tags.asset}/{tags.metric}"


def safe_url(url: str) -> str:
    """The URL without user:password@, fit for logs."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit(parts._replace(netloc=f"***@{netloc}"))


def _short(text: object) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    flat = " ".join(str(text).split())
    return flat if len(flat) <= DETAIL_MAX else flat[: DETAIL_MAX - 1] + "…"


def _seconds(value: object) -> float | None:
    try:
        return max(0.0, float(str(value))) if value is not None else None
    except ValueError:
        return None  # an HTTP date; the backoff applies


def _public(lag: ForwardLag) -> dict[str, object]:
    return {
        "queued": lag.queued,
        "oldest_age_s": round(lag.oldest_age_s, 3),
        "failures": lag.failures,
        "parked": lag.parked,
        "sent": lag.sent,
    }
