"""Differential test: Portico's verdict on a submission equals survey-core's own (run in Node).

survey-core is the oracle (FINDINGS.md): where its behaviour surprises, the
server matches it and says why in engine/forms. Compared: which questions are
invalid. The survey-core layer (`strict=False`) is compared on everything the
generator makes; the full verdict on widget-producible answers is covered by
the template tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from engine.forms.validator import validate
from tests.forms.oracle import SurveyOracle, available
from tests.forms.strategies import submissions_for

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted((ROOT / "form_defs").glob("*.json")) + sorted((Path(__file__).parent / "corpus").glob("*.json"))
EXAMPLES_PER_DEFINITION = 125  # 16 definitions x 125 = 2,000 submissions
COUNTS: dict[str, int] = {}

@pytest.fixture(scope="module")
def oracle():
    if available():  # ./dev setup installs node_modules; a missing oracle is a failure, not a skip
        pytest.fail(available())
    o = SurveyOracle()
    yield o
    o.close()


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_verdict_matches_survey_core(path, oracle):
    """Does Portico flag exactly the questions survey-core flags, for generated submissions?"""
    definition = json.loads(path.read_text())

    @settings(max_examples=EXAMPLES_PER_DEFINITION, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(submissions_for(definition))
    def check(data):
        COUNTS[path.stem] = COUNTS.get(path.stem, 0) + 1
        expected = sorted(oracle.verdict(definition, data))
        actual = sorted(validate(definition, data, strict=False))
        assert actual == expected, f"data={json.dumps(data)}"

    check()


def test_corpus_is_large_enough():
    """Did the differential run cover at least 2,000 submissions over at least 10 definitions?"""
    if not COUNTS:
        pytest.fail("run together with test_verdict_matches_survey_core (same module)")
    assert len(COUNTS) >= 10
    assert sum(COUNTS.values()) >= 2000, COUNTS
