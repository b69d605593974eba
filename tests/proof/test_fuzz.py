"""Fuzzing with hypothesis: the SurveyJS definition checker, the submission validator, the
expression evaluator, BPMN deploy and upload sniffing answer hostile input with a domain error
(PorticoError; ExpressionSyntaxError for expression text), never with a crash.

Examples are bounded (PORTICO_FUZZ_EXAMPLES, default 60 per property) so CI stays short;
raise it locally for a longer hunt.
"""

from __future__ import annotations

import copy
import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.authz import SYSTEM
from engine.errors import PorticoError
from engine.forms import validate_submission
from engine.forms.definition import check_definition
from engine.forms.evaluator import run
from engine.forms.expressions import ExpressionSyntaxError
from engine.forms.functions import FUNCTIONS
from engine.forms.validator import all_questions
from engine.services.platform import files
from engine.workflow import deploy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("PORTICO_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)
FORMS = {p.stem: json.loads(p.read_text()) for p in sorted((ROOT / "form_defs").glob("*.json"))}
BPMN = {p.stem: p.read_text() for p in sorted((ROOT / "workflows" / "bpmn").glob("*.bpmn"))}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
SURVEY_KEYS = [
    "type",
    "name",
    "title",
    "elements",
    "pages",
    "choices",
    "rows",
    "columns",
    "visibleIf",
    "enableIf",
    "requiredIf",
    "isRequired",
    "validators",
    "expression",
    "templateElements",
    "inputType",
    "rateMin",
    "rateMax",
    "maxLength",
    "items",
    "calculatedValues",
    "value",
    "defaultValue",
    "showOtherItem",
    "cellType",
    "text",
    "minRowCount",
    "panelCount",
]


@st.composite
def mutated_definitions(draw):
    """A real form definition with a few of its elements' properties replaced by hostile values."""
    definition = copy.deepcopy(FORMS[draw(st.sampled_from(sorted(FORMS)))])
    elements = list(all_questions(definition, nested=True)) or [definition]
    for _ in range(draw(st.integers(1, 4))):
        target = draw(st.sampled_from(elements))
        key = draw(st.sampled_from(SURVEY_KEYS))
        target[key] = draw(
            st.one_of(
                json_values,
                st.sampled_from(
                    ["{a} + 1", "{q} contains 'x'", "iif(", "age({dob}) >= 18", "sum({m[0].x})", "", "{"]
                ),
            )
        )
    return definition


def _question_names(definition) -> list[str]:
    try:
        return [
            q.get("valueName") or q.get("name")
            for q in all_questions(definition, nested=True)
            if isinstance(q, dict) and isinstance(q.get("name"), str)
        ] or ["q"]
    except PorticoError:
        return ["q"]


@FUZZ
@given(st.one_of(json_values, mutated_definitions()))
def test_definition_checker_never_crashes(definition):
    """Does the definition checker answer any JSON with a dict of problems and nothing else?"""
    try:
        problems = check_definition(definition)
    except PorticoError:
        return
    assert isinstance(problems, dict)


@FUZZ
@given(st.data())
def test_submission_validator_never_crashes(data):
    """Is any answer of any type to any usable (possibly mutated) definition judged without a crash?"""
    definition = data.draw(st.one_of(st.sampled_from(list(FORMS.values())), mutated_definitions()))
    if check_definition(definition):
        return  # publish refuses such a definition; the validator never sees it
    names = _question_names(definition)
    answers = data.draw(
        st.dictionaries(st.one_of(st.sampled_from(names), st.text(max_size=6)), json_values, max_size=8)
    )
    try:
        errors = validate_submission(definition, answers)
    except PorticoError:
        return
    assert isinstance(errors, dict)


TOKENS = [
    "{a}",
    "{b}",
    "{a.b}",
    "{m[0].x}",
    "{row.c}",
    "{panel.p}",
    "1",
    "0",
    "-2.5",
    "1e400",
    "0x1f",
    "'x'",
    '"2020-01-01"',
    "true",
    "false",
    "null",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "=",
    "!=",
    "<",
    ">=",
    "and",
    "or",
    "!",
    "notempty",
    "empty",
    "contains",
    "anyof",
    "allof",
    "noneof",
    "(",
    ")",
    "[",
    "]",
    ",",
    "power",
    "negate",
    *[f"{name}(" for name in FUNCTIONS],
]


@FUZZ
@given(
    st.one_of(st.lists(st.sampled_from(TOKENS), max_size=14).map(" ".join), st.text(max_size=40)),
    st.dictionaries(st.sampled_from(["a", "b", "m", "row", "panel", "dob"]), json_values, max_size=4),
)
def test_expression_evaluator_never_crashes(expression, context):
    """Does any expression text over any answers give a value or a syntax/domain error, nothing else?"""
    try:
        run(expression, context)
    except (ExpressionSyntaxError, PorticoError):
        pass


@st.composite
def mutated_bpmn(draw):
    text = BPMN[draw(st.sampled_from(sorted(BPMN)))]
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(text)))
        end = min(len(text), start + draw(st.integers(0, 200)))
        text = (
            text[:start]
            + draw(
                st.sampled_from(
                    [
                        "",
                        "<",
                        ">",
                        '"',
                        "&amp;",
                        "x",
                        "PT-1H",
                        "${x}",
                        "__import__('os')",
                        '<bpmn:task id="t"/>',
                        'isExecutable="true"',
                        "\u0000",
                    ]
                )
            )
            + text[end:]
        )
    return text


@FUZZ
@given(st.one_of(mutated_bpmn(), st.text(max_size=200), st.binary(max_size=200)))
def test_bpmn_deploy_never_crashes(clean_db, xml):
    """Is any mutated or random BPMN text deployed or refused with a domain error?"""
    try:
        deploy.deploy(SYSTEM, xml)
    except PorticoError:
        pass


MAGIC = [
    b"",
    b"%PDF-",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF89a",
    b"RIFF\0\0\0\0WEBP",
    b"\0\0\0\x18ftypheic",
    b"PK\x03\x04",
    b"MZ",
    b"\x7fELF",
    b"#!",
    b"<svg",
    b"\xef\xbb\xbf<html",
]


# Names zipfile itself can write: it cuts a name at NUL (an empty name then crashes writestr, a bug of the
# generator, not of the sniffer) and encodes names as UTF-8 (no lone surrogates).
_ZIP_NAMES = st.text(
    st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1, max_size=10
)


@st.composite
def zips(draw):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name in draw(
            st.lists(
                st.one_of(
                    st.sampled_from(
                        [
                            "[Content_Types].xml",
                            "word/document.xml",
                            "xl/workbook.xml",
                            "ppt/x.xml",
                            "word/vbaProject.bin",
                            "../evil",
                            "a",
                        ]
                    ),
                    _ZIP_NAMES,
                ),
                max_size=4,
                unique=True,
            )
        ):
            zf.writestr(name, draw(st.binary(max_size=20)))
    raw = buffer.getvalue()
    cut = draw(st.integers(0, len(raw)))
    return raw if draw(st.booleans()) else raw[:cut]


@FUZZ
@given(st.one_of(st.tuples(st.sampled_from(MAGIC), st.binary(max_size=64)).map(b"".join), zips()))
def test_upload_sniffing_never_crashes(settings, data):
    """Does any upload get a content type or a domain refusal (415/413/422), never an exception?"""
    try:
        kind = files.check_upload(data)
    except PorticoError as exc:
        assert exc.status in (413, 415, 422)
        return
    assert kind in {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/heic",
        "text/plain",
    } or kind.startswith("application/vnd.openxmlformats")


@pytest.mark.parametrize("name", sorted(FORMS))
def test_shipped_forms_are_usable(name):
    """Is each shipped form a definition the checker accepts (so the fuzzers start from good ground)?"""
    assert check_definition(FORMS[name]) == {}
