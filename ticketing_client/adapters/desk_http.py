"""What the Redmine, Jira, ServiceNow and Zendesk adapters share: auth, TLS, errors.

Every refusal that cannot succeed on retry becomes a ``SettingError``: a
``RejectedError`` (so the worker parks the action, once) whose reason names the
desk, the config setting to fix and the desk's own message, e.g.::

    redmine: the API key was refused (HTTP 401); fix `api_key_env`/`api_key_file`.
    Redmine said: ...

Adapters count these per setting in ``errors`` (exported by the daemon's metrics).
"""

from __future__ import annotations

import base64
import ssl
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from gatewatch.ticketing_client.adapters.base import RETRY_STATUSES, check_response
from gatewatch.ticketing_client.errors import RejectedError, RetryableError


class SettingError(RejectedError):
    """A refusal that only a change of configuration (or of the desk) can fix."""

    def __init__(self, desk: str, setting: str, problem: str, desk_says: str) -> None:
        said = desk_says.strip() or "(empty answer)"
        super().__init__(f"{desk}: {problem}; fix `{setting}`. {desk} said: {said[:500]}")
        self.desk, self.setting, self.desk_says = desk, setting, said


@dataclass(frozen=True, slots=True)
class Auth:
    """How to authenticate: ``basic`` (user + secret), ``bearer`` (OAuth), ``header`` (name)."""

    scheme: str  # basic | bearer | header
    secret: str  # password / API token / OAuth access token / API key
    user: str = ""  # basic: user name or e-mail
    header: str = ""  # header: the header carrying the secret (X-Redmine-API-Key)
    secret_setting: str = "token_env"  # noqa: S105  (a setting name) the setting that holds the secret (named in errors)

    def headers(self) -> dict[str, str]:
        if self.scheme == "basic":
            pair = base64.b64encode(f"{self.user}:{self.secret}".encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        if self.scheme == "bearer":
            return {"Authorization": f"Bearer {self.secret}"}
        if self.scheme == "header":
            return {self.header: self.secret}
        raise ValueError(f"unknown auth scheme {self.scheme!r}; use basic, bearer or header")

    def __repr__(self) -> str:  # never the secret
        return f"Auth(scheme={self.scheme!r}, user={self.user!r})"


@dataclass(frozen=True, slots=True)
class Connection:
    url: str
    auth: Auth
    timeout: float = 10.0
    verify: bool = True  # TLS certificate verification (on unless the config says otherwise)
    ca_bundle: str | None = None  # a PEM file of CAs to trust instead of the system ones
    max_connections: int = 4  # requests in flight; more would queue in the desk and time out


def tls(conn: Connection) -> ssl.SSLContext | bool:
    if not conn.verify:
        return False
    if conn.ca_bundle:
        return ssl.create_default_context(cafile=conn.ca_bundle)
    return True


def make_client(
    conn: Connection, transport: httpx.AsyncBaseTransport | None = None, **headers: str
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=conn.url.rstrip("/"),
        headers={"Accept": "application/json", **conn.auth.headers(), **headers},
        # waiting for a free connection is not the desk being slow: no pool timeout
        timeout=httpx.Timeout(conn.timeout, pool=None),
        limits=httpx.Limits(max_connections=conn.max_connections),
        verify=tls(conn),
        transport=transport,
    )


def desk_text(response: httpx.Response) -> str:
    """The desk's own words: its error body, or the status line when the body is empty."""
    text = response.text.strip().replace("\n", " ")
    return f"HTTP {response.status_code} {response.reason_phrase}" + (f": {text}" if text else "")


class DeskClient:
    """One desk's HTTP client; refusals that need a config change become counted SettingErrors."""

    def __init__(
        self,
        desk: str,
        conn: Connection,
        transport: httpx.AsyncBaseTransport | None = None,
        **headers: str,
    ) -> None:
        self.desk, self.conn = desk, conn
        self.client = make_client(conn, transport, **headers)
        self.errors: Counter[str] = Counter()

    def fail(self, setting: str, problem: str, desk_says: str) -> SettingError:
        self.errors[setting] += 1
        return SettingError(self.desk, setting, problem, desk_says)

    async def call(
        self,
        method: str,
        path: str,
        *,
        refusals: Refusals | None = None,
        classify: Classify | None = None,
        **kw: Any,
    ) -> httpx.Response:
        """One request; ``refusals`` maps a 4xx status to (setting, problem) for this call,
        ``classify`` finds (setting, problem) in a 4xx answer's body."""
        request = self.client.build_request(method, path, **kw)
        try:
            response = await self.client.send(request)
        except httpx.ConnectError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise self.fail(
                    "ca_bundle", "the TLS certificate is not trusted", str(exc)
                ) from None
            where = f"cannot reach {request.url.host} ({self.desk})"
            raise RetryableError(f"{where}: {exc!r}", maybe_delivered=False) from exc
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            where = f"cannot reach {request.url.host} ({self.desk})"
            raise RetryableError(f"{where}: {type(exc).__name__}", maybe_delivered=False) from exc
        except httpx.TimeoutException as exc:
            where = f"timeout talking to {request.url.host} ({self.desk})"
            raise RetryableError(f"{where}: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise RetryableError(f"{self.desk}: {exc!r}") from exc
        return self._check(response, refusals or {}, classify)

    def _check(
        self, response: httpx.Response, refusals: Refusals, classify: Classify | None
    ) -> httpx.Response:
        code = response.status_code
        if code < 400:
            return response
        if code in RETRY_STATUSES or code >= 500:
            check_response(response)  # raises RetryableError with Retry-After
        said = desk_text(response)
        found = classify(response) if classify is not None else None
        if found is not None:
            raise self.fail(*found, said)
        if code in refusals:
            raise self.fail(*refusals[code], said)
        if code == 401:
            raise self.fail(self.conn.auth.secret_setting, "the credentials were refused", said)
        if code == 403:
            raise self.fail("user", FORBIDDEN, said)
        where = f"{response.request.method} {response.request.url.path}"
        raise RejectedError(f"{self.desk}: {where} was refused. {self.desk} said: {said[:500]}")

    async def aclose(self) -> None:
        await self.client.aclose()


Refusals = Mapping[int, tuple[str, str]]
Classify = Callable[[httpx.Response], "tuple[str, str] | None"]
FORBIDDEN = "the API user lacks a permission for this (see the README for the list)"
