"""Fixtures serving the desk fakes on loopback (one fresh fake per test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from desk_doubles import ServiceNowDesk, ZendeskDesk


@pytest.fixture
def zendesk() -> Iterator[ZendeskDesk]:
    desk = ZendeskDesk()
    yield desk
    desk.stop()


@pytest.fixture
def servicenow() -> Iterator[ServiceNowDesk]:
    desk = ServiceNowDesk()
    yield desk
    desk.stop()
