"""Topic patterns such as ``building/{site}/{asset}/{metric}``.

A pattern is literal segments and ``{field}`` placeholders; each placeholder
becomes a ``+`` wildcard in the subscription filter. ``{asset}`` is required;
``{site}`` falls back to the configured site; without ``{metric}`` the metric
names come from the payload (multi-metric JSON or SenML).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FIELD = re.compile(r"^\{([a-z_][a-z0-9_]*)\}$")
KNOWN_FIELDS = ("site", "asset", "metric")


@dataclass(frozen=True, slots=True)
class TopicFields:
    site: str
    asset: str
    metric: str | None


class TopicPatternError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class TopicPattern:
    pattern: str
    segments: tuple[str | None, ...]  # literal text, or None for a placeholder
    fields: tuple[str | None, ...]  # field name per segment (None for literals)

    @classmethod
    def parse(cls, pattern: str) -> TopicPattern:
        if not pattern or pattern.startswith("/") or "#" in pattern or "+" in pattern:
            raise TopicPatternError(
                f"topic pattern {pattern!r} must be segments like building/{{site}}/{{asset}}/"
                "{metric}; MQTT wildcards are derived from the {fields}"
            )
        segments: list[str | None] = []
        fields: list[str | None] = []
        for seg in pattern.split("/"):
            m = _FIELD.match(seg)
            if m:
                if m.group(1) in fields:
                    raise TopicPatternError(f"field {{{m.group(1)}}} appears twice in {pattern!r}")
                segments.append(None)
                fields.append(m.group(1))
            elif "{" in seg or "}" in seg:
                raise TopicPatternError(
                    f"segment {seg!r} of {pattern!r}: a placeholder must be a whole segment"
                )
            else:
                segments.append(seg)
                fields.append(None)
        if "asset" not in fields:
            raise TopicPatternError(f"topic pattern {pattern!r} needs an {{asset}} segment")
        return cls(pattern, tuple(segments), tuple(fields))

    @property
    def subscription(self) -> str:
        return "/".join("+" if s is None else s for s in self.segments)

    @property
    def has_metric(self) -> bool:
        return "metric" in self.fields

    def match(self, topic: str, default_site: str) -> TopicFields | None:
        parts = topic.split("/")
        if len(parts) != len(self.segments):
            return None
        values: dict[str, str] = {}
        for part, literal, name in zip(parts, self.segments, self.fields, strict=True):
            if literal is not None:
                if part != literal:
                    return None
            elif not part:
                return None
            elif name is not None:
                values[name] = part
        return TopicFields(values.get("site", default_site), values["asset"], values.get("metric"))
