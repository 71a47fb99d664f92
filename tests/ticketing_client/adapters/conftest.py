from __future__ import annotations

from desk_fixtures import redmine, redmine_server
from fake_fixtures import servicenow, zendesk

__all__ = ["redmine", "redmine_server", "servicenow", "zendesk"]
