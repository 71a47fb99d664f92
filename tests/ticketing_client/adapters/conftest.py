from __future__ import annotations

from desk_fixtures import redmine, redmine_server

__all__ = ["redmine", "redmine_server"]
