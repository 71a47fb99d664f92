"""Ticket title/body templates: ``{asset.location}`` style named fields, nothing else.

A template is split into literal text and field names at load time; unknown
fields are load errors (with "did you mean"). Rendering substitutes strings
from a flat mapping: there is no attribute access, no indexing, no code.
``{{`` and ``}}`` write literal braces.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass

FIELDS = (
    "rule.id",
    "rule.description",
    "priority",
    "site",
    "asset.id",
    "asset.name",
    "asset.class",
    "asset.location",
    "asset.building",
    "asset.floor",
    "asset.room",
    "asset.responsible",
    "asset.contact",
    "asset.checklist",
    "metric",
    "value",
    "state",
    "unit",
    "threshold",
    "since",
    "duration",
    "trend",
    "count",
    "window",
    "group",
    "related",
)
EVIDENCE_PREFIX = "evidence."
_PART = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z0-9_]+)?")


class TemplateError(ValueError):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class Template:
    source: str
    parts: tuple[tuple[bool, str], ...]  # (is_field, text or field name)

    def render(self, values: Mapping[str, str]) -> str:
        return "".join(
            [values.get(text, "") if is_field else text for is_field, text in self.parts]
        )

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(text for is_field, text in self.parts if is_field)


def parse_template(source: str) -> Template:
    """Split ``source`` into literals and known fields; raise TemplateError."""
    parts: list[tuple[bool, str]] = []
    pos = 0
    for match in _PART.finditer(source):
        parts.append((False, source[pos : match.start()]))
        pos = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append((False, token[0]))
        elif match.group(1) is None:
            raise TemplateError(
                f"lone {token!r}; write {token * 2!r} for a literal brace", match.start()
            )
        else:
            parts.append((True, _field(match.group(1).strip(), match.start())))
    parts.append((False, source[pos:]))
    return Template(source, tuple(p for p in parts if p[0] or p[1]))


def _field(name: str, offset: int) -> str:
    if name.startswith(EVIDENCE_PREFIX) and _NAME.fullmatch(name):
        return name
    if name in FIELDS:
        return name
    hint = difflib.get_close_matches(name, FIELDS, n=1)
    fix = f"did you mean {{{hint[0]}}}?" if hint else "known: " + ", ".join(FIELDS)
    return _raise(f"unknown template field {{{name}}}; {fix}", offset)


def _raise(message: str, offset: int) -> str:
    raise TemplateError(message, offset)
