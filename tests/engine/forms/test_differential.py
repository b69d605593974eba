"""Differential test: Portico's verdict on a submission equals survey-core's own (run in Node).

survey-core is the oracle (its verdict is the reference): where its behaviour surprises, the
server matches it and says why (engine/forms/__init__.py lists them). Compared:
which questions are invalid, for the survey-core layer (`strict=False`); the
strict shape checks are Portico's own and tested in test_templates.py.

Speed: building a survey-core Model costs tens of milliseconds, so hypothesis
first generates every submission (derandomized, so runs are reproducible), then
two long-lived Node processes judge them in pipelined batches. When a definition
disagrees, hypothesis runs again against a live oracle to shrink the example.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from engine.forms.validator import validate
from tests.engine.forms.oracle import SurveyOracle, available
from tests.engine.forms.strategies import submissions_for

ROOT = Path(__file__).resolve().parents[3]
CORPUS = sorted((ROOT / "form_defs").glob("*.json")) + sorted(
    (Path(__file__).parent / "corpus").glob("*.json")
)
EXAMPLES_PER_DEFINITION = 125  # 16 definitions x 125 = 2,000 submissions
WORKERS = 2
SETTINGS = settings(
    max_examples=EXAMPLES_PER_DEFINITION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _generate(definition: dict) -> list[dict]:
    seen: list[dict] = []

    @SETTINGS
    @given(submissions_for(definition))
    def collect(data):
        seen.append(data)

    collect()
    return seen


@pytest.fixture(scope="module")
def verdicts():
    """{definition stem: [(data, survey-core's invalid questions)]} for the whole corpus."""
    if available():  # ./dev setup installs node_modules; a missing oracle is a failure, not a skip
        pytest.fail(available())
    jobs = [(p.stem, json.loads(p.read_text())) for p in CORPUS]
    generated = {stem: _generate(definition) for stem, definition in jobs}
    oracles = [SurveyOracle() for _ in range(WORKERS)]
    try:

        def judge(index):
            oracle = oracles[index]
            out = {}
            for stem, definition in jobs[index::WORKERS]:
                datas = generated[stem]
                out[stem] = list(zip(datas, oracle.batch(definition, datas), strict=True))
            return out

        results: dict = {}
        with ThreadPoolExecutor(WORKERS) as pool:
            for part in pool.map(judge, range(WORKERS)):
                results.update(part)
        return results
    finally:
        for o in oracles:
            o.close()


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_verdict_matches_survey_core(path, verdicts):
    """Does Portico flag exactly the questions survey-core flags, for generated submissions?"""
    definition = json.loads(path.read_text())
    mismatches = [
        data
        for data, expected in verdicts[path.stem]
        if sorted(validate(definition, data, strict=False)) != sorted(expected)
    ]
    if not mismatches:
        return
    oracle = SurveyOracle()  # shrink the failure against a live oracle for a readable report
    try:

        @SETTINGS
        @given(submissions_for(definition))
        def check(data):
            expected = sorted(oracle.verdict(definition, data))
            assert sorted(validate(definition, data, strict=False)) == expected, f"data={json.dumps(data)}"

        check()
    finally:
        oracle.close()
    pytest.fail(f"{len(mismatches)} disagreements, e.g. data={json.dumps(mismatches[0])}")


def test_corpus_is_large_enough(verdicts):
    """Did the differential run cover at least 2,000 submissions over at least 10 definitions?"""
    assert len(verdicts) >= 10
    assert sum(len(v) for v in verdicts.values()) >= 2000, {k: len(v) for k, v in verdicts.items()}
