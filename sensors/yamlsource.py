"""YAML with locations lives in the pure core (gatewatch.rules.yamlsource); re-exported."""

from gatewatch.rules.yamlsource import (
    ConfigError,
    Location,
    LocDict,
    LocList,
    Problem,
    Section,
    parse_yaml,
)

__all__ = ["ConfigError", "LocDict", "LocList", "Location", "Problem", "Section", "parse_yaml"]
