"""PDFs: blank and filled for every template; the text has the questions and the answers."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from engine.forms import clean_submission
from engine.forms.pdf import blank_pdf, latin1, packet_pdf, submission_pdf
from tests.form_fills import SIG, VALID

TEMPLATES = {
    p.stem: json.loads(p.read_text())
    for p in sorted((Path(__file__).resolve().parents[3] / "form_defs").glob("*.json"))
}
EVIDENCE = {
    "signer_name": "Ada Lovelace",
    "signer_account": "acc1",
    "profile": "c1",
    "signed_at": "2026-11-26T20:00:00.000+00:00",
    "ip": "203.0.113.7",
    "user_agent": "pytest",
    "sha256": "ab" * 32,
}


def _text(pdf: bytes) -> str:
    return " ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(pdf)).pages)


def _norm(s: str) -> str:
    return " ".join(latin1(s).split())


def _read_file(ref):
    import base64

    return base64.b64decode(SIG.split(",", 1)[1]), "image/png"


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_filled_pdf_shows_questions_and_answers(key):
    """Does a filled PDF of every template contain its questions, the answers given and the evidence?"""
    definition = TEMPLATES[key]
    answers = clean_submission(definition, VALID[key])
    if "signature" in answers:
        answers["signature"] = "portico-file:x"
    text = _norm(_text(submission_pdf(definition, answers, EVIDENCE, read_file=_read_file)))
    from engine.forms.validator import all_questions

    first = next(q for q in all_questions(definition) if q.get("title") and q["type"] != "html")
    assert _norm(first["title"])[:30] in text
    from engine.forms.answers import answer_text
    from engine.forms.pdf import latin1

    questions = {q["name"]: q for q in all_questions(definition)}
    for name, value in answers.items():
        if isinstance(value, str) and not value.startswith(("data:", "portico-file:")) and name in questions:
            shown = latin1(answer_text(questions[name], value))
            assert _norm(shown)[:25] in text, (name, shown)
    assert "203.0.113.7" in text


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_blank_pdf_shows_every_question(key):
    """Does the blank printable PDF of every template list each question title?"""
    from engine.forms.validator import all_questions

    text = _norm(_text(blank_pdf(TEMPLATES[key])))
    for q in all_questions(TEMPLATES[key]):
        if q.get("title") and q["type"] != "html":
            assert _norm(q["title"])[:30] in text


def test_packet_joins_forms():
    """Does a packet PDF contain every form it joins?"""
    pdf = packet_pdf(
        [
            (TEMPLATES["phq9"], None, None),
            (TEMPLATES["gad7"], clean_submission(TEMPLATES["gad7"], VALID["gad7"]), EVIDENCE),
        ]
    )
    text = _text(pdf)
    assert "PHQ-9" in text and "GAD-7" in text and len(PdfReader(io.BytesIO(pdf)).pages) >= 2
