"""One ``probe`` fixture parametrised over every desk; the contract tests use only it.

Adding a desk: a probe module here and one entry in DESKS.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from desk_doubles import JiraDesk, ServiceNowDesk, ZendeskDesk
from desk_fixtures import redmine, redmine_server
from fake_fixtures import jira_cloud, jira_dc, servicenow, zendesk
from probe import Probe
from probe_jira import JiraProbe
from probe_local import LocalProbe
from probe_redmine import RedmineProbe
from probe_rt import RTProbe
from probe_servicenow import ServiceNowProbe
from probe_zendesk import ZendeskProbe
from redmine_client import RedmineReader

slow = pytest.mark.slow

# desk name -> (fixture that builds its probe, marks)
DESKS: dict[str, tuple[str, tuple[pytest.MarkDecorator, ...]]] = {
    "local": ("local_probe", ()),
    "rt": ("rt_probe", (slow,)),
    "redmine": ("redmine_probe", (slow,)),
    "zendesk": ("zendesk_probe", ()),
    "servicenow": ("servicenow_probe", ()),
    "jira-cloud": ("jira_cloud_probe", ()),
    "jira-dc": ("jira_dc_probe", ()),
}
__all__ = [
    "jira_cloud",
    "jira_dc",
    "redmine",
    "redmine_server",
    "servicenow",
    "zendesk",
]  # session fixtures shared with the adapter tests


@pytest.fixture(params=[pytest.param(name, marks=marks) for name, (_, marks) in DESKS.items()])
def probe(request: pytest.FixtureRequest) -> Probe:
    fixture, _ = DESKS[request.param]
    built: Probe = request.getfixturevalue(fixture)
    return built


@pytest.fixture
def local_probe() -> LocalProbe:
    return LocalProbe()


@pytest.fixture
def rt_probe(rt: object) -> Iterator[RTProbe]:
    yield RTProbe(rt)  # type: ignore[arg-type]


@pytest.fixture
def redmine_probe(redmine: RedmineReader) -> RedmineProbe:
    return RedmineProbe(redmine)


@pytest.fixture
def zendesk_probe(zendesk: ZendeskDesk) -> ZendeskProbe:
    return ZendeskProbe(zendesk)


@pytest.fixture
def servicenow_probe(servicenow: ServiceNowDesk) -> ServiceNowProbe:
    return ServiceNowProbe(servicenow)


@pytest.fixture
def jira_cloud_probe(jira_cloud: JiraDesk) -> JiraProbe:
    return JiraProbe(jira_cloud)


@pytest.fixture
def jira_dc_probe(jira_dc: JiraDesk) -> JiraProbe:
    return JiraProbe(jira_dc)
