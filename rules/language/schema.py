"""JSON Schema of rule files and rule test files, for editors (yaml-language-server).

Generated from the same key lists the loader uses, so it cannot drift:
``gatewatch rules schema > config/schema/rules.schema.json`` (a test checks
the published file is current). The loader stays the authority: it checks
what a schema cannot (assets, metrics, references, hysteresis).
"""

from __future__ import annotations

from typing import Any

from gatewatch.core.assets import KNOWN_CLASSES
from gatewatch.rules.language.load import RULE_KEYS
from gatewatch.rules.language.model import GROUP_FIELDS
from gatewatch.rules.language.silence import DAYS, MATCH_KEYS
from gatewatch.rules.language.template import FIELDS

DURATION: dict[str, Any] = {
    "description": "a duration: 30s, 5m, 1h30m, 7d, or seconds",
    "anyOf": [
        {"type": "string", "pattern": r"^(\d+(\.\d+)?(ms|s|m|h|d|w))+$"},
        {"type": "number", "minimum": 0},
    ],
}
PRIORITY: dict[str, Any] = {
    "description": "P1 (cannot wait) .. P4",
    "anyOf": [{"enum": ["P1", "P2", "P3", "P4"]}, {"enum": [1, 2, 3, 4]}],
}
NAMES: dict[str, Any] = {
    "anyOf": [
        {"type": ["string", "number"]},
        {"type": "array", "items": {"type": ["string", "number"]}},
    ]
}
PAIR: dict[str, Any] = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
TEMPLATE: dict[str, Any] = {
    "type": "string",
    "description": "text with {fields}: " + ", ".join(FIELDS) + ", evidence.<name>",
}


def _obj(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "additionalProperties": False, **extra}


def _when() -> dict[str, Any]:
    number = {"type": "number"}
    expr = {"type": "string", "description": "e.g. value == 1 and not bit(value, 3)"}
    ids = {"type": "array", "items": {"type": "string"}, "minItems": 1}
    group = {"type": "array", "items": {"enum": list(GROUP_FIELDS)}}
    return _obj(
        {
            "above": number,
            "below": number,
            "outside": PAIR,
            "clear": {"anyOf": [number, PAIR]},
            "expr": expr,
            "clear_when": expr,
            "rate_above": number,
            "rate_below": number,
            "window": DURATION,
            "no_data_for": DURATION,
            "site_silent_for": DURATION,
            "repeated": {"type": "string", "description": "id of the rule whose firings count"},
            "times": {"type": "integer", "minimum": 2},
            "within": DURATION,
            "group_by": group,
            "all": ids,
            "any": ids,
        },
        description="exactly one condition",
    )


def _ticket() -> dict[str, Any]:
    escalation = _obj(
        {
            "after": DURATION,
            "priority": PRIORITY,
            "queue": {"type": "string"},
            "comment": {"type": "string"},
        },
        required=["after"],
    )
    policy = _obj(
        {
            "title": TEMPLATE,
            "body": TEMPLATE,
            "update_every": DURATION,
            "escalate": {"type": "array", "items": escalation},
            "resolve_on_clear": {"type": "boolean"},
            "reopen_window": DURATION,
            "escalate_after_reopens": {"type": "integer", "minimum": 1},
        }
    )
    return {"anyOf": [policy, {"const": False, "description": "no ticket (a building block)"}]}


def rule_schema() -> dict[str, Any]:
    select = _obj(
        dict.fromkeys(("site", "asset", "class", "building", "floor", "room", "metric"), NAMES)
    )
    properties = {
        "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]*$"},
        "description": {"type": "string"},
        "select": select,
        "when": _when(),
        "priority": PRIORITY,
        "for": DURATION,
        "clear_for": DURATION,
        "keep_firing_for": DURATION,
        "ticket": _ticket(),
        "active": _obj(
            {
                "every": {"type": "array", "items": {"enum": list(DAYS)}},
                "from": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                "to": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                "tz": {"type": "string", "description": "IANA time zone, e.g. Europe/Berlin"},
            },
            description="notify only inside this weekly window (local time)",
        ),
    }
    assert set(properties) == set(RULE_KEYS)
    policy = _obj({"min_priority": PRIORITY, "escalate_after": DURATION})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://gatewatch.example.org/schema/rules.schema.json",
        "title": "gatewatch rule file",
        **_obj(
            {
                "rules": {"type": "array", "items": _obj(properties, required=["id", "when"])},
                "asset_classes": {
                    "type": "object",
                    "propertyNames": {"enum": list(KNOWN_CLASSES)},
                    "additionalProperties": policy,
                },
            }
        ),
    }


def rule_test_schema() -> dict[str, Any]:
    series = _obj(
        {
            "series": {"type": "string", "pattern": "^[^/]+/.+$"},
            "from": DURATION,
            "interval": DURATION,
            "values": {
                "anyOf": [
                    {"type": "string", "description": 'promtool style: "0x10 1x5 _ 2.5"'},
                    {"type": "array", "items": {"type": ["number", "null", "string"]}},
                ]
            },
            "evidence": {"type": "object"},
        },
        required=["series", "values"],
    )
    expected = _obj(
        {
            "at": DURATION,
            "kind": {"enum": ["fired", "updated", "resolved", "escalated"]},
            "rule": {"type": "string"},
            "asset": {"type": "string"},
            "priority": PRIORITY,
            "title_contains": {"type": "string"},
            "body_contains": {"type": "string"},
            "potentially_critical": {"type": "boolean"},
            "predictive": {"type": "boolean"},
            "incident": {"type": ["string", "number"]},
        },
        required=["at", "kind", "rule"],
    )
    case = _obj(
        {
            "name": {"type": "string"},
            "site": {"type": "string"},
            "tick": DURATION,
            "until": DURATION,
            "input": {"type": "array", "items": series},
            "expect": {"type": "array", "items": expected},
        }
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://gatewatch.example.org/schema/rule-tests.schema.json",
        "title": "gatewatch rule test file",
        **_obj(
            {
                "rule_files": {"type": "array", "items": {"type": "string"}},
                "assets": {"type": "string"},
                "start": {"type": "string", "format": "date-time"},
                "tests": {"type": "array", "items": case},
            },
            required=["rule_files", "tests"],
        ),
    }


def silences_schema() -> dict[str, Any]:
    match = _obj(dict.fromkeys(MATCH_KEYS, NAMES), minProperties=1)
    clock = {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}
    silence = _obj(
        {
            "id": {"type": "string"},
            "match": match,
            "starts": {"type": "string", "format": "date-time"},
            "ends": {"type": "string", "format": "date-time"},
            "comment": {"type": "string"},
        },
        required=["id", "match", "starts", "ends"],
    )
    window = _obj(
        {
            "id": {"type": "string"},
            "match": match,
            "every": {"type": "array", "items": {"enum": list(DAYS)}},
            "from": clock,
            "to": clock,
            "tz": {"type": "string"},
            "comment": {"type": "string"},
        },
        required=["id", "match", "from", "to"],
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://gatewatch.example.org/schema/silences.schema.json",
        "title": "gatewatch silences and maintenance windows",
        **_obj(
            {
                "silences": {"type": "array", "items": silence},
                "maintenance_windows": {"type": "array", "items": window},
            }
        ),
    }


def assets_schema() -> dict[str, Any]:
    metric = _obj(
        {"unit": {"type": ["string", "null"]}, "min": {"type": "number"}, "max": {"type": "number"}}
    )
    asset = _obj(
        {
            "class": {"type": "string", "examples": list(KNOWN_CLASSES)},
            "name": {"type": "string"},
            "location": _obj(
                {k: {"type": ["string", "number"]} for k in ("building", "floor", "room")}
            ),
            "responsible": _obj(
                {
                    "kind": {"enum": ["own", "contractor"]},
                    "name": {"type": "string"},
                    "contact": {"type": "string"},
                },
                required=["name"],
            ),
            "checklist_url": {"type": "string"},
            "metrics": {"type": "object", "additionalProperties": metric},
        },
        required=["class"],
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://gatewatch.example.org/schema/assets.schema.json",
        "title": "gatewatch asset registry",
        **_obj(
            {
                "assets": {
                    "type": "object",
                    "propertyNames": {"pattern": "^[^/+#]+$"},
                    "additionalProperties": asset,
                },
                "extra_classes": {"type": "array", "items": {"type": "string"}},
            },
            required=["assets"],
        ),
    }


SCHEMAS = {
    "rules.schema.json": rule_schema,
    "rule-tests.schema.json": rule_test_schema,
    "silences.schema.json": silences_schema,
    "assets.schema.json": assets_schema,
}
