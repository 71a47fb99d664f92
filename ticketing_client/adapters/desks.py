"""Config options -> adapters for the desks built on desk_http (Redmine, Jira, ...).

Common options of every such desk::

    url: https://desk.example.org
    timeout: 10                  # seconds per request
    verify_tls: true             # default; false only for a lab desk
    ca_bundle: /etc/gatewatch/desk-ca.pem   # trust this CA (PEM) for the desk

Secrets come from ``<name>_env`` (a variable name) or ``<name>_file`` (a path),
never from the config itself.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from gatewatch.ticketing_client.adapters.desk_http import Auth, Connection

if TYPE_CHECKING:
    from gatewatch.ticketing_client.adapters import AdapterContext
    from gatewatch.ticketing_client.adapters.base import Adapter
    from gatewatch.ticketing_client.adapters.jira import JiraSettings
    from gatewatch.ticketing_client.adapters.redmine import RedmineSettings
    from gatewatch.ticketing_client.adapters.servicenow import ServiceNowSettings
    from gatewatch.ticketing_client.adapters.zendesk import ZendeskSettings


def _error(message: str) -> Exception:
    from gatewatch.ticketing_client.adapters import AdapterConfigError

    error: Exception = AdapterConfigError(message)
    return error


COMMON = ("url", "timeout", "max_connections", "verify_tls", "ca_bundle", "auth", "user", "queues",
          "priorities")  # fmt: skip
SECRETS = ("token", "password", "api_key")
KNOWN = {
    "redmine": ("project", "key_field_id", "resolved_status", "reopen_status", "tracker"),
    "zendesk": ("email", "group", "ticket_type"),
    "servicenow": (
        "assignment_group",
        "key_field",
        "correlation_display",
        "resolved_state",
        "reopen_state",
        "close_code",
    ),
    "jira": (
        "project",
        "api",
        "issue_type",
        "label_prefix",
        "resolve_transition",
        "reopen_transition",
    ),
}


def check_known(options: Mapping[str, Any], desk: str) -> None:
    """Reject a misspelt option instead of silently using a default for it."""
    known = [*COMMON, *KNOWN[desk], *_secret_names(SECRETS)]
    for key in options:
        if key not in known:
            near = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise _error(f"{desk}: unknown option {key!r}{hint}")


def _secret_names(names: Iterable[str]) -> list[str]:
    return [f"{n}{suffix}" for n in names for suffix in ("", "_env", "_file")]


def need(options: Mapping[str, Any], key: str, desk: str) -> str:
    value = options.get(key)
    if not isinstance(value, str) or not value:
        raise _error(f"the {desk} backend needs `{key}` (a non-empty string)")
    return value


def secret_of(options: Mapping[str, Any], name: str, ctx: AdapterContext) -> tuple[str, str]:
    """The secret and the setting it came from (``<name>_env`` or ``<name>_file``)."""
    from gatewatch.ticketing_client.adapters import secret

    value = secret(options, name, ctx)
    if not value:
        raise _error(f"{name} is empty (from {name}_env / {name}_file)")
    return value, f"{name}_env" if f"{name}_env" in options else f"{name}_file"


def auth_from(options: Mapping[str, Any], ctx: AdapterContext, desk: str, default: str) -> Auth:
    """``auth: basic`` (user + password/token), ``bearer`` (OAuth token) or the desk's own."""
    scheme = str(options.get("auth", default))
    if scheme == "basic":
        value, setting = secret_of(options, "password", ctx)
        return Auth("basic", value, user=need(options, "user", desk), secret_setting=setting)
    if scheme == "bearer":
        value, setting = secret_of(options, "token", ctx)
        return Auth("bearer", value, secret_setting=setting)
    raise _error(f"{desk}: auth must be basic or bearer, not {scheme!r}")


def connection(
    options: Mapping[str, Any], ctx: AdapterContext, desk: str, auth: Auth
) -> Connection:
    verify = options.get("verify_tls", True)
    if not isinstance(verify, bool):
        raise _error(f"{desk}: verify_tls must be true or false")
    bundle = options.get("ca_bundle")
    if bundle is not None:
        path = ctx.base_dir / str(bundle)
        if not path.is_file():
            raise _error(f"{desk}: ca_bundle {bundle} is not a readable file")
        bundle = str(path)
    try:
        timeout = float(options.get("timeout", 10.0))
        connections = int(options.get("max_connections", 4))
    except (TypeError, ValueError):
        raise _error(f"{desk}: timeout (seconds) and max_connections must be numbers") from None
    if connections < 1:
        raise _error(f"{desk}: max_connections must be at least 1")
    return Connection(need(options, "url", desk), auth, timeout, verify, bundle, connections)


def int_map(options: Mapping[str, Any], key: str, desk: str) -> dict[int, str]:
    raw = options.get(key) or {}
    if not isinstance(raw, Mapping):
        raise _error(f"{desk}: `{key}` maps P1..P4 (1, 2, 3, 4) to the desk's names")
    return {int(k): str(v) for k, v in raw.items()}


def redmine(options: Mapping[str, Any], ctx: AdapterContext) -> Adapter:
    from gatewatch.ticketing_client.adapters.redmine import RedmineAdapter

    return RedmineAdapter(redmine_settings(options, ctx))


def redmine_settings(options: Mapping[str, Any], ctx: AdapterContext) -> RedmineSettings:
    from gatewatch.ticketing_client.adapters.redmine import RedmineSettings

    check_known(options, "redmine")

    key, setting = secret_of(options, "api_key", ctx)
    auth = Auth("header", key, header="X-Redmine-API-Key", secret_setting=setting)
    extra: dict[str, Any] = {}
    if "priorities" in options:
        extra["priorities"] = int_map(options, "priorities", "redmine")
    for name in ("resolved_status", "reopen_status", "tracker"):
        if name in options:
            extra[name] = str(options[name])
    conn, project = connection(options, ctx, "redmine", auth), need(options, "project", "redmine")
    try:
        settings = RedmineSettings(
            conn=conn,
            project=project,
            key_field_id=int(options["key_field_id"]),
            queues={str(k): str(v) for k, v in (options.get("queues") or {}).items()},
            **extra,
        )
    except KeyError:
        raise _error("the redmine backend needs `key_field_id` (the custom field's id)") from None
    except (TypeError, ValueError) as exc:
        raise _error(f"redmine: {exc}") from None
    return settings


def zendesk(options: Mapping[str, Any], ctx: AdapterContext) -> Adapter:
    from gatewatch.ticketing_client.adapters.zendesk import ZendeskAdapter

    return ZendeskAdapter(zendesk_settings(options, ctx))


def zendesk_settings(options: Mapping[str, Any], ctx: AdapterContext) -> ZendeskSettings:
    """``auth: token`` (default; ``email`` + ``token_env``) or ``bearer`` (OAuth ``token_env``)."""
    from gatewatch.ticketing_client.adapters.zendesk import ZendeskSettings

    check_known(options, "zendesk")

    if options.get("auth", "token") == "token":
        token, setting = secret_of(options, "token", ctx)
        user = need(options, "email", "zendesk") + "/token"
        auth = Auth("basic", token, user=user, secret_setting=setting)
    else:
        auth = auth_from(options, ctx, "zendesk", "bearer")
    extra: dict[str, Any] = {}
    if "priorities" in options:
        extra["priorities"] = int_map(options, "priorities", "zendesk")
    conn = connection(options, ctx, "zendesk", auth)
    try:
        settings = ZendeskSettings(
            conn=conn,
            group=str(options.get("group", "")),
            ticket_type=str(options.get("ticket_type", "incident")),
            queues={str(k): str(v) for k, v in (options.get("queues") or {}).items()},
            **extra,
        )
    except (TypeError, ValueError) as exc:
        raise _error(str(exc)) from None
    return settings


def servicenow(options: Mapping[str, Any], ctx: AdapterContext) -> Adapter:
    from gatewatch.ticketing_client.adapters.servicenow import ServiceNowAdapter

    return ServiceNowAdapter(servicenow_settings(options, ctx))


def servicenow_settings(options: Mapping[str, Any], ctx: AdapterContext) -> ServiceNowSettings:
    """``auth: basic`` (default: ``user`` + ``password_env``) or ``bearer`` (``token_env``)."""
    from gatewatch.ticketing_client.adapters.servicenow import ServiceNowSettings

    check_known(options, "servicenow")

    auth = auth_from(options, ctx, "servicenow", "basic")
    extra: dict[str, Any] = {}
    raw = options.get("priorities")
    if raw is not None:
        if not isinstance(raw, Mapping):
            raise _error("servicenow: `priorities` maps 1..4 to [impact, urgency]")
        extra["priorities"] = {int(k): (int(v[0]), int(v[1])) for k, v in raw.items()}
    for name in ("assignment_group", "key_field", "correlation_display", "resolved_state",
                 "reopen_state", "close_code"):  # fmt: skip
        if name in options:
            extra[name] = str(options[name])
    conn = connection(options, ctx, "servicenow", auth)
    try:
        settings = ServiceNowSettings(
            conn=conn,
            queues={str(k): str(v) for k, v in (options.get("queues") or {}).items()},
            **extra,
        )
    except (TypeError, ValueError, IndexError) as exc:
        raise _error(f"servicenow: {exc}") from None
    return settings


def jira(options: Mapping[str, Any], ctx: AdapterContext) -> Adapter:
    from gatewatch.ticketing_client.adapters.jira import JiraAdapter

    return JiraAdapter(jira_settings(options, ctx))


def jira_settings(options: Mapping[str, Any], ctx: AdapterContext) -> JiraSettings:
    """Cloud: ``auth: basic`` with ``user`` (e-mail) + ``password_env`` (the API token), or
    ``bearer`` (OAuth 2.0); Data Center: ``basic`` or ``bearer`` (a personal access token)."""
    from gatewatch.ticketing_client.adapters.jira import JiraSettings

    check_known(options, "jira")

    auth = auth_from(options, ctx, "jira", "basic")
    extra: dict[str, Any] = {}
    if "priorities" in options:
        extra["priorities"] = int_map(options, "priorities", "jira")
    for name in ("api", "issue_type", "label_prefix", "resolve_transition", "reopen_transition"):
        if name in options:
            extra[name] = str(options[name])
    conn, project = connection(options, ctx, "jira", auth), need(options, "project", "jira")
    try:
        settings = JiraSettings(
            conn=conn,
            project=project,
            queues={str(k): str(v) for k, v in (options.get("queues") or {}).items()},
            **extra,
        )
    except (TypeError, ValueError) as exc:
        raise _error(str(exc)) from None
    return settings
