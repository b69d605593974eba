"""Definition checks: JSON Schema plus semantic problems, each reported at its JSON path."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from engine.forms.definition import check_definition
from engine.forms.expressions import ExpressionSyntaxError, parse

ROOT = Path(__file__).resolve().parents[3]
SURVEY_SCHEMA = ROOT / "web" / "node_modules" / "survey-core" / "surveyjs_definition.json"


def test_semantic_problems_are_listed_with_their_paths():
    """Does a bad definition list each problem (duplicate names, unknown types and variables, bad choices) at its path?"""
    problems = check_definition(
        {
            "elements": [
                {"type": "text", "name": "a"},
                {"type": "text", "name": "A", "visibleIf": "{zz} = 1 and foo(1)"},
                {"type": "slider", "name": "c"},
                {"type": "radiogroup", "name": "r", "choices": ["x", "x"]},
                {"type": "text", "name": "e", "enableIf": "{a} = "},
            ]
        }
    )
    assert set(problems) == {
        "$.elements[1].name",
        "$.elements[2].type",
        "$.elements[3].choices[1]",
        "$.elements[1].visibleIf",
        "$.elements[4].enableIf",
    }
    assert any("zz" in m for m in problems["$.elements[1].visibleIf"])


def test_schema_errors_name_the_property():
    """Does a wrongly typed property fail the JSON Schema at its path?"""
    assert set(check_definition({"elements": [{"type": "text", "name": "a", "isRequired": "yes"}]})) == {
        "$.elements[0].isRequired"
    }
    assert check_definition([1]) == {"$": ["a form definition must be a JSON object"]}


def test_panel_and_row_scopes_are_known_variables():
    """Are {panel.x} and {row.x} accepted inside dynamic panels and matrices?"""
    assert check_definition(json.loads((Path(__file__).parent / "corpus" / "panels.json").read_text())) == {}


@pytest.mark.parametrize("path", sorted((ROOT / "form_defs").glob("*.json")), ids=lambda p: p.stem)
def test_survey_core_schema_agrees_on_templates(path):
    """Does survey-core's own published JSON Schema accept every template our schema accepts?"""
    assert SURVEY_SCHEMA.exists(), "run ./dev setup (npm installs survey-core)"
    schema = json.loads(SURVEY_SCHEMA.read_text())
    definition = json.loads(path.read_text())
    assert list(jsonschema.validators.validator_for(schema)(schema).iter_errors(definition)) == []
    assert check_definition(definition) == {}


@pytest.mark.parametrize("text", ["not {a}", "-{a} < 0", "{a} = 01", "{a}.length", "({a}", ""])
def test_expressions_survey_core_refuses_do_not_parse(text):
    """Are expressions that survey-core cannot parse refused here too?"""
    with pytest.raises(ExpressionSyntaxError):
        parse(text)
