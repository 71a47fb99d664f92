from __future__ import annotations

from desk_fixtures import redmine, redmine_server
from fake_fixtures import jira_cloud, jira_dc, servicenow, zendesk

__all__ = [
    "jira_cloud", "jira_dc", "redmine", "redmine_server", "servicenow", "zendesk"
]  # fmt: skip
