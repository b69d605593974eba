"""Answers as people read them (engine.forms.answers): the reading shared by the PDF and the review pages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.forms.answers import Line, readable
from engine.forms.validator import all_questions, value_name
from tests.form_fills import VALID

FORM_DEFS = Path(__file__).resolve().parents[3] / "form_defs"
# What a person must never read in a submission: a Python value or a stored key.
_PYTHON = re.compile(r"\b(True|False|None)\b|[{}\[\]]")


def _definition(key: str) -> dict:
    return json.loads((FORM_DEFS / f"{key}.json").read_text())


def _flat(lines: list[Line]) -> list[Line]:
    out = []
    for line in lines:
        out.append(line)
        out.extend(_flat(line.children))
    return out


@pytest.mark.parametrize("key", sorted(VALID))
def test_every_template_reads_without_keys_or_python_values(key):
    """Does every shipped form read as titles and words: no field key where a question has a title,
    no True/False/None, no raw list or dict, and every answered question shown?"""
    definition = _definition(key)
    answers = {k: v for k, v in VALID[key].items() if not (isinstance(v, str) and v.startswith("data:"))}
    lines = _flat(readable(definition, answers))
    texts = [line.text for line in lines if line.kind == "question" and not line.children]
    assert not [t for t in texts if _PYTHON.search(t)], texts
    titled = {value_name(q): q["title"] for q in all_questions(definition) if isinstance(q.get("title"), str)}
    titles = {line.title for line in lines}
    for name in answers:
        if name in titled:
            assert titled[name] in titles, (name, titles)
            assert name not in titles or name == titled[name]


def test_choices_booleans_dates_and_dynamic_panels_read_as_words():
    """Are choice values shown by their labels, booleans as Yes/No, a date as "10 Dec 1990", and each
    dynamic panel as a numbered entry of its own questions?"""
    definition = {
        "pages": [
            {
                "name": "p1",
                "title": "About you",
                "elements": [
                    {"type": "text", "name": "dob", "title": "Date of birth", "inputType": "date"},
                    {"type": "boolean", "name": "ok_to_text", "title": "May we text you?"},
                    {
                        "type": "radiogroup",
                        "name": "direction",
                        "title": "Share with",
                        "choices": [
                            {"value": "both", "text": "Both ways"},
                            {"value": "to", "text": "To them only"},
                        ],
                    },
                    {
                        "type": "checkbox",
                        "name": "terms",
                        "title": "Terms",
                        "choices": [{"value": "late_cancel", "text": "Late cancellation fee"}],
                    },
                    {
                        "type": "paneldynamic",
                        "name": "meds",
                        "title": "Medications",
                        "panelTitle": "Medication {panelIndex}",
                        "templateElements": [{"type": "text", "name": "drug", "title": "Name"}],
                    },
                    {
                        "type": "matrix",
                        "name": "mood",
                        "title": "Mood",
                        "rows": [{"value": "sleep", "text": "Sleep"}],
                        "columns": [{"value": 1, "text": "Poor"}, {"value": 2, "text": "Fine"}],
                    },
                ],
            }
        ]
    }
    answers = {
        "dob": "1990-12-10",
        "ok_to_text": False,
        "direction": "both",
        "terms": ["late_cancel"],
        "meds": [{"drug": "Sertraline"}, {"drug": "Melatonin"}],
        "mood": {"sleep": 1},
    }
    [page] = readable(definition, answers)
    assert page.kind == "section" and page.title == "About you"
    by_title = {line.title: line for line in page.children}
    assert by_title["Date of birth"].text == "10 Dec 1990"
    assert by_title["May we text you?"].text == "No"
    assert by_title["Share with"].text == "Both ways"
    assert by_title["Terms"].text == "Late cancellation fee"
    assert by_title["Mood"].text == "Sleep: Poor"
    entries = by_title["Medications"].children
    assert [e.title for e in entries] == ["Medication 1", "Medication 2"]
    assert [(q.title, q.text) for q in entries[1].children] == [("Name", "Melatonin")]


def test_untitled_question_reads_its_name_as_words_and_signature_keeps_its_file():
    """Is a question without a title shown by its name in words (never snake_case), and a signature
    kept as its file reference for the page to draw?"""
    definition = {
        "elements": [
            {"type": "text", "name": "postal_code"},
            {"type": "signaturepad", "name": "signature", "title": "Signature"},
        ]
    }
    lines = readable(definition, {"postal_code": "62704", "signature": "portico-file:abc"})
    assert [(line.kind, line.title, line.text, line.file_ref) for line in lines] == [
        ("question", "Postal code", "62704", ""),
        ("signature", "Signature", "", "portico-file:abc"),
    ]
