"""Fixtures serving the desk fakes on loopback (one fresh fake per test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from desk_doubles import JiraDesk, ServiceNowDesk, ZendeskDesk


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


@pytest.fixture
def jira_cloud() -> Iterator[JiraDesk]:
    desk = JiraDesk("cloud")
    yield desk
    desk.stop()


@pytest.fixture
def jira_dc() -> Iterator[JiraDesk]:
    desk = JiraDesk("datacenter")
    yield desk
    desk.stop()
