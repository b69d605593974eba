"""The default intake templates: definition checks, a valid and an invalid fill each, scale scoring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.forms import clean_submission, validate_submission
from engine.forms.definition import check_definition
from engine.forms.validator import computed_values
from tests.form_fills import INVALID, VALID

TEMPLATES = {
    p.stem: json.loads(p.read_text())
    for p in sorted((Path(__file__).resolve().parents[3] / "form_defs").glob("*.json"))
}


def test_there_are_at_least_twelve_templates():
    """Does the product ship at least 12 intake templates, each with fills in this test suite?"""
    assert len(TEMPLATES) >= 12
    assert set(TEMPLATES) == set(VALID) == set(INVALID)


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_template_passes_definition_checks(key):
    """Does every shipped template pass the schema and semantic checks?"""
    assert check_definition(TEMPLATES[key]) == {}


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_valid_fill_is_accepted(key):
    """Is a complete, sensible fill of each template accepted?"""
    assert validate_submission(TEMPLATES[key], VALID[key]) == {}


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_invalid_fill_reports_exactly_the_wrong_questions(key):
    """Does an invalid fill report exactly the questions that are wrong, and no others?"""
    data, expected = INVALID[key]
    assert set(validate_submission(TEMPLATES[key], data)) == expected


def _phq(total):
    items = [0] * 9
    for i in range(total):
        items[i % 9] += 1
    return {f"phq9_{i + 1}": v for i, v in enumerate(items)}


PHQ_BANDS = [
    (0, "minimal"),
    (4, "minimal"),
    (5, "mild"),
    (9, "mild"),
    (10, "moderate"),
    (14, "moderate"),
    (15, "moderately severe"),
    (19, "moderately severe"),
    (20, "severe"),
    (27, "severe"),
]
GAD_BANDS = [
    (0, "minimal"),
    (4, "minimal"),
    (5, "mild"),
    (9, "mild"),
    (10, "moderate"),
    (14, "moderate"),
    (15, "severe"),
    (21, "severe"),
]


@pytest.mark.parametrize(("total", "band"), PHQ_BANDS)
def test_phq9_total_and_band_on_each_side_of_every_boundary(total, band):
    """Is the server's PHQ-9 total the sum of the items, with the right severity band at each boundary?"""
    data = _phq(total)
    values = computed_values(TEMPLATES["phq9"], data)
    assert values["phq9_total"] == sum(data.values()) == total
    assert values["phq9_severity"] == band
    cleaned = clean_submission(TEMPLATES["phq9"], {**data, "phq9_difficulty": "Very difficult"})
    assert cleaned["phq9_score"] == total and cleaned["phq9_band"] == band


@pytest.mark.parametrize(("total", "band"), GAD_BANDS)
def test_gad7_total_and_band_on_each_side_of_every_boundary(total, band):
    """Is the GAD-7 total the sum of the items, with the right severity band at each boundary?"""
    items = [0] * 7
    for i in range(total):
        items[i % 7] += 1
    data = {f"gad7_{i + 1}": v for i, v in enumerate(items)}
    values = computed_values(TEMPLATES["gad7"], data)
    assert values["gad7_total"] == total
    assert values["gad7_severity"] == band


def test_answers_to_hidden_questions_are_dropped():
    """Are answers to questions the respondent could not see dropped from the stored submission?"""
    data = {**VALID["financial_policy"], "payment_method": "Self-pay"}
    cleaned = clean_submission(TEMPLATES["financial_policy"], data)
    assert "household_income" not in cleaned and cleaned["payment_method"] == "Self-pay"


def test_shape_checks_refuse_what_widgets_could_not_send():
    """Are unknown choices, wrong types and over-long text refused, although survey-core itself accepts them?"""
    definition = {
        "elements": [
            {"type": "radiogroup", "name": "r", "choices": ["a", "b"]},
            {"type": "checkbox", "name": "c", "choices": ["a", "b"], "showOtherItem": True},
            {"type": "text", "name": "t", "maxLength": 3},
            {"type": "boolean", "name": "b"},
            {"type": "rating", "name": "s", "rateMax": 5},
        ]
    }
    bad = {"r": "zz", "c": ["a", "zz"], "t": "abcdef", "b": "yes", "s": 9}
    assert validate_submission(definition, bad).keys() == bad.keys()
    from engine.forms.validator import validate

    assert validate(definition, bad, strict=False) == {}  # survey-core's own verdict: no errors
    assert (
        validate_submission(
            definition, {"r": "a", "c": ["other"], "c-Comment": "mine", "t": "abc", "b": False, "s": 5}
        )
        == {}
    )


def test_hidden_cells_and_panel_answers_are_dropped():
    """Are answers hidden inside matrices and dynamic panels dropped too?"""
    import json as _json

    corpus = Path(__file__).parent / "corpus"
    panels = _json.loads((corpus / "panels.json").read_text())
    cleaned = clean_submission(
        panels, {"has_kids": "yes", "kids": [{"kid_name": "A", "kid_age": 3, "school": "X"}]}
    )
    assert cleaned["kids"] == [{"kid_name": "A", "kid_age": 3}]
    health = TEMPLATES["health_history"]
    cleaned = clean_submission(
        health,
        {**VALID["health_history"], "substance_use": {"Alcohol": {"frequency": "Never", "amount": "lots"}}},
    )
    assert cleaned["substance_use"] == {"Alcohol": {"frequency": "Never"}}
