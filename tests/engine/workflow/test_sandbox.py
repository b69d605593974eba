"""The bounded child process scripts run in (engine.workflow.sandbox): what crosses it and what stays."""

from __future__ import annotations

import os
import pickle
from datetime import UTC, datetime

import pytest

from engine.workflow import sandbox
from engine.workflow.errors import ScriptFailed, ScriptRefused
from engine.workflow.scripting import RestrictedEnvironment, runs_inline

ENV = RestrictedEnvironment()


@pytest.mark.parametrize(
    "expression",
    ["approved == True", "answers['age'] >= 18 and not minor", "x.y if a else -b", "'yes' in choices"],
)
def test_plain_conditions_run_in_process(expression):
    """Are conditions that only read and compare task data kept out of the child (no round trip)?"""
    assert runs_inline(expression)


@pytest.mark.parametrize(
    "expression",
    ["10 ** 10 ** 10", "'a' * n", "len(x)", "1 << 99", "[i for i in x]", "f'{x:>{n}}'", "'%s' % x", "x[::2]"],
)
def test_anything_that_computes_runs_in_the_child(expression):
    """Is every call, operator, comprehension, f-string and slice sent to the bounded child?"""
    assert not runs_inline(expression)


def test_script_results_cross_as_plain_data():
    """Does a script's task data come back from the child: new, changed and deleted keys, dates intact?"""
    when = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)
    data = {"keep": 1, "drop": 2, "answers": {"a": 1}, "when": when}
    ENV.execute("del drop\nanswers['b'] = 2\nlabel = 'n=%d' % keep\nf = lambda: 0", data)
    assert data == {"keep": 1, "answers": {"a": 1, "b": 2}, "when": when, "label": "n=1"}
    assert ENV.evaluate("[k for k in sorted(answers)]", data) == ["a", "b"]


def test_answers_from_the_child_cannot_name_code():
    """Does the parent refuse an answer that would build anything but plain data when loaded?"""
    assert sandbox._loads(pickle.dumps(("ok", {"at": datetime(2026, 1, 1)}, None))) == (
        "ok",
        {"at": datetime(2026, 1, 1)},
        None,
    )
    with pytest.raises(pickle.UnpicklingError):
        sandbox._loads(pickle.dumps(os.system))


def test_errors_inside_the_child_keep_their_kind():
    """Are a runtime refusal and an ordinary error reported as in-process ones were?"""
    with pytest.raises(ScriptRefused):
        ENV.execute("y = now.func_globals", {})
    with pytest.raises(ScriptFailed) as failed:
        ENV.execute("y = 1 / 0", {})
    assert "ZeroDivisionError" in failed.value.message


@pytest.mark.timeout(60)
def test_a_large_result_is_refused_and_a_stopped_child_is_replaced():
    """Is a result over the limit refused, and does a script run normally after one ran out of time?"""
    with pytest.raises(ScriptFailed) as failed:
        ENV.execute("big = 'a' * (5 * 1024 * 1024)", {})
    assert "larger than 4 MB" in failed.value.message
    with pytest.raises(ScriptFailed) as failed:
        ENV.execute("while True:\n    pass", {})
    assert "ran longer than" in failed.value.message
    data: dict = {}
    ENV.execute("after = 1 + 1", data)
    assert data == {"after": 2}
