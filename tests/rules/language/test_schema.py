"""The published JSON Schemas are current and accept every shipped file."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from gatewatch.rules.language.schema import SCHEMAS

CONFIG = Path(__file__).resolve().parents[3] / "config"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_published_schema_is_generated_from_the_code(name: str) -> None:
    published = json.loads((CONFIG / "schema" / name).read_text())
    assert published == SCHEMAS[name](), "run: gatewatch rules schema --output config/schema"
    jsonschema.Draft202012Validator.check_schema(published)


def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(SCHEMAS[name]())


@pytest.mark.parametrize("path", sorted((CONFIG / "rules").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_rules_validate(path: Path) -> None:
    _validator("rules.schema.json").validate(yaml.safe_load(path.read_text()))


@pytest.mark.parametrize(
    "path", sorted((CONFIG / "rules" / "tests").glob("*.yaml")), ids=lambda p: p.name
)
def test_shipped_rule_tests_validate(path: Path) -> None:
    doc = json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))
    _validator("rule-tests.schema.json").validate(doc)


def test_schema_rejects_what_editors_should_flag() -> None:
    v = _validator("rules.schema.json")
    bad = {"rules": [{"id": "x", "when": {"above": 1}, "fro": "5m", "priority": "P7"}]}
    messages = sorted(e.message for e in v.iter_errors(bad))
    assert any("'fro' was unexpected" in m for m in messages)
    assert len(messages) == 2


def test_shipped_assets_validate() -> None:
    _validator("assets.schema.json").validate(yaml.safe_load((CONFIG / "assets.yaml").read_text()))


def test_silences_example_validates() -> None:
    from gatewatch.rules.language import silence

    doc = yaml.safe_load(
        silence.__doc__.split("silences.yaml (parsed here", 1)[1].split(":\n", 1)[1]
    )
    doc = json.loads(json.dumps(doc, default=str))
    assert set(doc) == {"silences", "maintenance_windows"}
    _validator("silences.schema.json").validate(doc)
