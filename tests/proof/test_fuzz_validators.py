"""Fuzzing with a clock: regex validators and expression functions over hostile answers.

Staff write patterns and expressions; clients choose the answers they run on. Every case must
finish within BUDGET (1 s) and end in a verdict (or a refusal at publish), never an exception:
a pattern that backtracks, round(x, 10**7), today(10**10), 10**400 as an answer, a string that
no Python datetime can hold. Examples are bounded by PORTICO_FUZZ_EXAMPLES (default 60).
"""

from __future__ import annotations

import os
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.forms import validate_submission
from engine.forms.definition import check_definition
from engine.forms.evaluator import run
from engine.forms.expressions import ExpressionSyntaxError
from engine.forms.functions import FUNCTIONS

BUDGET = 1.0
EXAMPLES = int(os.environ.get("PORTICO_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=False,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Pieces of patterns, heavy on what makes backtracking engines explode: nested and adjacent
# quantifiers over overlapping classes, alternations of prefixes, look-around, back-references.
ATOMS = [
    "a",
    "b",
    ".",
    "\\d",
    "\\w",
    "\\s",
    "\\S",
    "[a-z]",
    "[^b]",
    "(a|aa)",
    "(a|a?)",
    "(\\w+\\s?)",
    "(a+)",
    "(.*)",
    "(?:a*)",
    "\\1",
    "(?=a)",
    "(?!b)",
    "(?<=a)",
    "\\b",
    "[\\s\\S]",
    "x{2,5}",
    "\\u0061",
    "{",
    "}",
]
QUANTIFIERS = ["", "", "*", "+", "?", "{0,30}", "{2,}", "*?", "+"]
CATASTROPHIC = [
    "^(a+)+$",
    "^(a|aa)+$",
    "^(a|a?)+$",
    "^(\\w+\\s?)*$",
    "^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$",
    "^(.*a){20}$",
    "(x+x+)+y",
    "^(([a-z])+.)+[A-Z]([a-z])+$",
]


@st.composite
def patterns(draw):
    if draw(st.booleans()):
        return draw(st.sampled_from(CATASTROPHIC))
    parts = draw(
        st.lists(st.tuples(st.sampled_from(ATOMS), st.sampled_from(QUANTIFIERS)), min_size=1, max_size=6)
    )
    body = "".join(atom + quantifier for atom, quantifier in parts)
    if draw(st.booleans()):
        body = f"({body})" + draw(st.sampled_from(["+", "*", "{1,10}"]))
    return "^" + body + draw(st.sampled_from(["$", "", "!"]))


@st.composite
def hostile_texts(draw):
    unit = draw(st.sampled_from(["a", "aa", "ab", "a ", " ", "x", "1", "a.", "\u2028", "é"]))
    tail = draw(st.sampled_from(["", "!", "b", "\n", "aaaa!", "\ud800"]))
    return unit * draw(st.integers(0, 5000)) + tail


def _timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    took = time.perf_counter() - start
    assert took < BUDGET, f"took {took:.2f} s"
    return result


@FUZZ
@given(patterns(), st.booleans(), hostile_texts())
def test_regex_validators_answer_within_budget(pattern, ignore_case, text):
    """Is each regex either refused at publish or judged within 1 s on any answer, in a question and a cell?"""
    validator = {"type": "regex", "regex": pattern, "caseInsensitive": ignore_case}
    definition = {
        "elements": [
            {"type": "text", "name": "q", "validators": [validator]},
            {
                "type": "matrixdynamic",
                "name": "m",
                "columns": [{"name": "c", "cellType": "text", "validators": [validator]}],
            },
            {
                "type": "paneldynamic",
                "name": "p",
                "templateElements": [{"type": "comment", "name": "t", "validators": [validator]}],
            },
        ]
    }
    if _timed(check_definition, definition):
        return  # refused at publish, with its reason; the validator never sees it
    errors = _timed(validate_submission, definition, {"q": text, "m": [{"c": text}], "p": [{"t": text}]})
    assert isinstance(errors, dict)


NUMBERS = [
    0,
    1,
    -1,
    2.5,
    10**7,
    -(10**7),
    10**10,
    10**18,
    10**400,
    -(10**400),
    1e308,
    -1e308,
    5e-324,
    2**53 + 1,
    "1e400",
    "10000000",
    "-10000000000",
    "abc",
    "",
    None,
    True,
    [10**7],
    {"a": 1},
]
DATES = ["2020-01-31", "0001-01-01", "9999-12-31", "275760-09-13", "not a date", "", None, 0, 10**10]
UNITS = ["days", "months", "years", "hours", "minutes", "seconds", "", "weeks", None]
CALLS = [
    "round({a}, {b})",
    "round({a})",
    "today({a})",
    "dateAdd({d}, {a}, {u})",
    "dateDiff({d}, {e}, {u})",
    "age({d})",
    "getDate({d})",
    "year({d})",
    "sum({a}, {b})",
    "avg({a}, {b})",
    "min({a}, {b}, {d})",
    "max({a}, {b}, {d})",
    "iif({a} > {b}, {a}, {b})",
    "{a} ^ {b}",
    "{a} * {b}",
    "{a} / {b}",
    "{a} % {b}",
    "{a} + {b}",
    "{a} - {b}",
    "sumInArray({l}, 'x')",
    "countInArray({l}, 'x', {x} > {a})",
    "round({a}, {b}) > today({b})",
    "dateAdd(today({a}), {b}, {u}) < {d}",
    "currentYear() + {a}",
]


@FUZZ
@given(
    st.sampled_from(CALLS),
    st.fixed_dictionaries(
        {
            "a": st.sampled_from(NUMBERS),
            "b": st.sampled_from(NUMBERS),
            "d": st.sampled_from(DATES),
            "e": st.sampled_from(DATES),
            "u": st.sampled_from(UNITS),
            "l": st.lists(st.fixed_dictionaries({"x": st.sampled_from(NUMBERS)}), max_size=5),
        }
    ),
)
def test_expression_functions_answer_within_budget(expression, values):
    """Does every supported function, fed client-chosen extremes, give a value within 1 s and never raise?"""
    assert {name for name in FUNCTIONS} >= {"round", "today", "dateAdd"}
    try:
        _timed(run, expression, values)
    except ExpressionSyntaxError:
        pass


@FUZZ
@given(st.sampled_from(CALLS), st.sampled_from(NUMBERS), st.sampled_from(NUMBERS), st.sampled_from(DATES))
def test_expression_validators_on_hostile_answers_are_verdicts(expression, a, b, d):
    """Does a form whose validator and visibility use these functions judge hostile answers within 1 s?"""
    definition = {
        "elements": [
            {"type": "text", "name": "a"},
            {"type": "text", "name": "b"},
            {"type": "text", "name": "d"},
            {"type": "text", "name": "e"},
            {"type": "text", "name": "u"},
            {"type": "text", "name": "x"},
            {"type": "matrixdynamic", "name": "l", "columns": [{"name": "x", "cellType": "text"}]},
            {
                "type": "text",
                "name": "check",
                "visibleIf": f"({expression}) notempty",
                "validators": [{"type": "expression", "expression": f"({expression}) > 0"}],
            },
        ]
    }
    assert check_definition(definition) == {}
    answers = {"a": a, "b": b, "d": d, "check": "x"}
    errors = _timed(validate_submission, definition, answers)
    assert isinstance(errors, dict)
