"""Security (validation): dynamic panels and dynamic matrices keep their minimum and maximum counts.

survey-core builds max(panelCount, minPanelCount) blank panels for an empty answer (and fills a
matrix up to minRowCount rows), so their required questions fail; the server must do the same.
Beyond survey-core (strict), a request cannot send fewer entries than the minimum or more than
the maximum, which the browser's add/remove buttons never allow.
"""

from __future__ import annotations

import pytest

from engine.forms import validate_submission
from engine.forms.validator import validate
from tests.engine.forms.oracle import SurveyOracle, available

PANELS = {
    "elements": [
        {
            "type": "paneldynamic",
            "name": "kids",
            "minPanelCount": 2,
            "maxPanelCount": 3,
            "templateElements": [
                {"type": "text", "name": "kid_name", "isRequired": True},
                {"type": "text", "name": "note"},
            ],
        }
    ]
}
ROWS = {
    "elements": [
        {
            "type": "matrixdynamic",
            "name": "meds",
            "minRowCount": 2,
            "maxRowCount": 3,
            "columns": [{"name": "drug", "cellType": "text", "isRequired": True}],
        }
    ]
}


def test_min_panel_count_is_enforced():
    """Is a submission with no panels, or fewer than minPanelCount, refused as survey-core refuses it?"""
    for data in ({}, {"kids": []}):
        assert set(validate_submission(PANELS, data)) == {"kids"}, data
        assert "panel 2, kid_name: Response required." in validate(PANELS, data, strict=False)["kids"]
    assert validate_submission(PANELS, {"kids": [{"kid_name": "Sam"}]}) == {
        "kids": ["Please add at least 2 entries."]
    }
    assert validate_submission(PANELS, {"kids": [{"kid_name": "Sam"}] * 4}) == {
        "kids": ["Please add no more than 3 entries."]
    }
    assert validate_submission(PANELS, {"kids": [{"kid_name": "Sam"}, {"kid_name": "Ann"}]}) == {}


def test_min_row_count_is_enforced():
    """Is a matrix answer shorter than minRowCount filled with blank rows (whose required cells fail)?"""
    assert set(validate_submission(ROWS, {})) == {"meds"}
    assert validate(ROWS, {"meds": [{"drug": "x"}]}, strict=False) == {
        "meds": ["row 2, drug: Response required."]
    }
    assert validate_submission(ROWS, {"meds": [{"drug": "x"}]}) == {
        "meds": ["Please add at least 2 entries."]
    }
    assert validate_submission(ROWS, {"meds": []}) == {"meds": ["Please add at least 2 entries."]}
    assert validate_submission(ROWS, {"meds": [{"drug": "x"}] * 4}) == {
        "meds": ["Please add no more than 3 entries."]
    }
    assert validate_submission(ROWS, {"meds": [{"drug": "x"}, {"drug": "y"}]}) == {}


def test_huge_entry_counts_are_refused_before_they_are_walked():
    """Is a request with 200,000 panels refused with one error for the count, not one per panel?
    (How fast that is, is for a bench/ script: tests/proof/test_fuzz_validators.py's 1 s budget per case.)"""
    errors = validate_submission(PANELS, {"kids": [{}] * 200_000})
    assert errors == {"kids": ["Please add no more than 3 entries."]}


def test_survey_core_agrees_on_counts():
    """Does survey-core itself reject the same short answers (the non-strict layer matches it)?"""
    if available():
        pytest.fail(available())
    oracle = SurveyOracle()
    try:
        for definition, datas in (
            (PANELS, [{}, {"kids": []}, {"kids": [{"note": "x"}]}, {"kids": [{"kid_name": "a"}]}]),
            (ROWS, [{}, {"meds": []}, {"meds": [{"drug": "x"}]}, {"meds": [{"drug": "x"}] * 2}]),
        ):
            for data in datas:
                assert sorted(validate(definition, data, strict=False)) == sorted(
                    oracle.verdict(definition, data)
                ), data
    finally:
        oracle.close()
