"""How the shared desk client sorts answers: retry, park with the setting, or pass."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from gatewatch.ticketing_client.adapters.desk_http import Auth, Connection, DeskClient, SettingError
from gatewatch.ticketing_client.errors import RejectedError, RetryableError
from http_fake import FakeServer, Request, Response
from servers import free_port

ANSWERS = {
    "/ok": Response(200, {"fine": True}),
    "/busy": Response(503, "maintenance", {"Retry-After": "7"}),
    "/broken": Response(500, {"error": "boom"}),
    "/auth": Response(401, {"error": "Couldn't authenticate you"}),
    "/forbidden": Response(403, ""),
    "/missing": Response(404, {"error": "RecordNotFound"}),
}


def handler(req: Request) -> Response:
    if req.path == "/slow":
        time.sleep(1.0)
    return ANSWERS.get(req.path, Response(200, {}))


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer(handler).start()
    yield fake
    fake.stop()


def call(url: str, path: str, timeout: float = 5.0) -> object:
    auth = Auth("bearer", "tok", secret_setting="token_file")
    client = DeskClient("zendesk", Connection(url, auth, timeout=timeout))

    async def go() -> object:
        try:
            return (await client.call("GET", path)).json()
        except Exception as exc:
            exc.add_note(repr(dict(client.errors)))
            raise
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_success_passes_through(server: FakeServer) -> None:
    assert call(server.url, "/ok") == {"fine": True}


def test_503_is_retried_after_retry_after_and_was_not_delivered(server: FakeServer) -> None:
    with pytest.raises(RetryableError) as err:
        call(server.url, "/busy")
    assert err.value.retry_after == 7.0 and err.value.maybe_delivered is False


def test_500_is_retried_and_may_have_been_delivered(server: FakeServer) -> None:
    with pytest.raises(RetryableError) as err:
        call(server.url, "/broken")
    assert err.value.maybe_delivered is True and "HTTP 500" in err.value.reason


def test_timeout_may_have_been_delivered(server: FakeServer) -> None:
    with pytest.raises(RetryableError) as err:
        call(server.url, "/slow", timeout=0.2)
    assert err.value.reason.startswith("timeout talking to 127.0.0.1 (zendesk)")
    assert err.value.maybe_delivered is True


def test_connection_refused_was_not_delivered() -> None:
    with pytest.raises(RetryableError) as err:
        call(f"http://127.0.0.1:{free_port()}", "/ok")
    assert err.value.reason.startswith("cannot reach 127.0.0.1 (zendesk)")
    assert err.value.maybe_delivered is False


def test_401_names_the_secret_setting_and_is_counted(server: FakeServer) -> None:
    with pytest.raises(SettingError) as err:
        call(server.url, "/auth")
    assert err.value.reason == (
        "zendesk: the credentials were refused; fix `token_file`. zendesk said:"
        ' HTTP 401 Unauthorized: {"error": "Couldn\'t authenticate you"}'
    )
    assert err.value.setting == "token_file" and "{'token_file': 1}" in err.value.__notes__[0]


def test_403_with_an_empty_body_still_says_what_the_desk_answered(server: FakeServer) -> None:
    with pytest.raises(SettingError, match=r"lacks a permission.*fix `user`.*HTTP 403 Forbidden"):
        call(server.url, "/forbidden")


def test_other_4xx_is_parked_with_the_desks_words(server: FakeServer) -> None:
    with pytest.raises(RejectedError) as err:
        call(server.url, "/missing")
    assert not isinstance(err.value, SettingError)
    assert err.value.reason.startswith("zendesk: GET /missing was refused. zendesk said: HTTP 404")
    assert "RecordNotFound" in err.value.reason
