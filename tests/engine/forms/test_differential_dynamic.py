"""Differential test over generated forms with dynamic panels and matrices (tests/engine/forms/strategies.py).

test_differential.py judges fixed definitions; a hole in dynamic panels (minPanelCount accepted
an empty answer) slipped through because no definition in the corpus had counts. Here hypothesis
generates the definitions too: counts (min/max/default), required questions inside panels,
{panel.x}/{row.x}/{panelIndex} conditions, nested panels, and top-level conditions over the
panels (countInArray, sumInArray, {p0[0].kind}, isContainerReady). survey-core is the oracle.
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings

from engine.forms.definition import check_definition
from engine.forms.validator import validate
from tests.engine.forms.oracle import SurveyOracle, available
from tests.engine.forms.strategies import dynamic_definitions, submissions_for

DEFINITIONS = int(os.environ.get("PORTICO_DYNAMIC_FORMS", "40"))
SUBMISSIONS_PER_DEFINITION = 25  # 40 x 25 = 1,000 submissions
SETTINGS = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


def _collect(strategy, n) -> list:
    seen: list = []

    @settings(SETTINGS, max_examples=n)
    @given(strategy)
    def collect(value):
        seen.append(value)

    collect()
    return seen


def test_generated_dynamic_forms_match_survey_core():
    """Does Portico flag exactly the questions survey-core flags, over generated dynamic forms?"""
    if available():
        pytest.fail(available())
    definitions = _collect(dynamic_definitions(), DEFINITIONS)
    assert all(check_definition(d) == {} for d in definitions)  # the generator makes publishable forms
    oracle = SurveyOracle()
    mismatches = []
    try:
        for definition in definitions:
            datas = _collect(submissions_for(definition, foreign=False), SUBMISSIONS_PER_DEFINITION)
            for data, expected in zip(datas, oracle.batch(definition, datas), strict=True):
                got = validate(definition, data, strict=False)
                if sorted(got) != sorted(expected):
                    mismatches.append((definition, data, sorted(got), sorted(expected)))
    finally:
        oracle.close()
    assert not mismatches, f"{len(mismatches)} disagreements; first: " + "\n".join(
        json.dumps(dict(zip(("definition", "data", "portico", "survey_core"), m, strict=True)))
        for m in mismatches[:4]
    )
