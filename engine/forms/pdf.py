"""PDFs with fpdf2: a filled submission (answers, signature images, evidence footer), a blank
printable form, and a packet joining several forms in one document.

Core PDF fonts only (no system font needed at run time), so text is reduced
to Latin-1: typographic quotes/dashes are mapped, anything else becomes "?".
"""

from __future__ import annotations

import io
import re
import unicodedata

from fpdf import FPDF

from engine.forms.validator import pages

_MAP = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
        "\u2026": "...", "\u00a0": " ", "\u2022": "*"}
_TAGS = re.compile(r"<[^>]+>")


def latin1(text) -> str:
    """Text the core fonts can draw."""
    text = "" if text is None else str(text)
    text = "".join(_MAP.get(c, c) for c in text)
    text = unicodedata.normalize("NFKC", text)
    return text.encode("latin-1", "replace").decode("latin-1")


def _title(el) -> str:
    t = el.get("title") or el.get("name") or ""
    if isinstance(t, dict):
        t = t.get("default") or next(iter(t.values()), "")
    return latin1(t)


def _choice_text(el, value) -> str:
    for c in el.get("choices") or []:
        if isinstance(c, dict) and c.get("value") == value:
            return _title({"title": c.get("text", value)})
    return latin1(value)


def _answer_text(el, value) -> str:
    if value is None or value == "" or value == []:
        return ""
    kind = el.get("type")
    if kind == "boolean":
        return "Yes" if value is True else "No" if value is False else latin1(value)
    if kind in ("radiogroup", "dropdown"):
        return _choice_text(el, value)
    if kind in ("checkbox", "tagbox"):
        return ", ".join(_choice_text(el, v) for v in value) if isinstance(value, list) else latin1(value)
    if kind == "file":
        return ", ".join(latin1(f.get("name", "file")) for f in value if isinstance(f, dict)) if isinstance(value, list) else ""
    if isinstance(value, dict):
        return "; ".join(f"{latin1(k)}: {_answer_text({}, v)}" for k, v in value.items())
    if isinstance(value, list):
        return " | ".join(_answer_text({}, v) for v in value)
    return latin1(value)


class _Doc(FPDF):
    footer_text = ""

    def footer(self):
        self.set_y(-14)
        self.set_font("Helvetica", size=7)
        self.set_text_color(90, 90, 90)
        self.multi_cell(0, 3.2, latin1(self.footer_text) + f"   Page {self.page_no()}", align="C")
        self.set_text_color(0, 0, 0)


def _new_doc() -> _Doc:
    doc = _Doc(format="Letter")
    doc.set_auto_page_break(auto=True, margin=20)
    doc.set_title("Portico form")
    return doc


def _form(doc: _Doc, definition: dict, answers: dict | None, *, evidence: dict | None, read_file=None):
    doc.footer_text = _evidence_line(evidence) if evidence else "Blank form - printed from Portico"
    doc.add_page()
    doc.set_font("Helvetica", "B", 15)
    doc.multi_cell(0, 8, _title(definition) or "Form", new_x="LMARGIN", new_y="NEXT")
    if definition.get("description"):
        doc.set_font("Helvetica", size=9)
        doc.multi_cell(0, 4.5, _title({"title": definition["description"]}), new_x="LMARGIN", new_y="NEXT")
    doc.ln(2)
    for page in pages(definition):
        _elements(doc, page.get("elements") or [], answers, read_file)
    if evidence:
        doc.ln(4)
        doc.set_font("Helvetica", "B", 9)
        doc.multi_cell(0, 4.5, "Evidence", new_x="LMARGIN", new_y="NEXT")
        doc.set_font("Helvetica", size=8)
        for k in ("signer_name", "signer_account", "profile", "signed_at", "ip", "user_agent", "sha256"):
            doc.multi_cell(0, 4, latin1(f"{k}: {evidence.get(k, '')}"), new_x="LMARGIN", new_y="NEXT")


def _evidence_line(e: dict) -> str:
    return f"Signed {e.get('signed_at', '')} by {e.get('signer_name') or e.get('signer_account', '')} from {e.get('ip', '')} - SHA-256 {e.get('sha256', '')}"


def _elements(doc, elements, answers, read_file):
    for el in elements:
        kind = el.get("type")
        if kind == "panel":
            doc.set_font("Helvetica", "B", 11)
            doc.multi_cell(0, 6, _title(el), new_x="LMARGIN", new_y="NEXT")
            _elements(doc, el.get("elements") or [], answers, read_file)
            continue
        if kind == "html":
            doc.set_font("Helvetica", size=9)
            doc.multi_cell(0, 4.5, latin1(_TAGS.sub(" ", el.get("html", "")).strip()), new_x="LMARGIN", new_y="NEXT")
            doc.ln(1)
            continue
        doc.set_font("Helvetica", "B", 9.5)
        doc.multi_cell(0, 5, _title(el) + (" *" if el.get("isRequired") else ""), new_x="LMARGIN", new_y="NEXT")
        doc.set_font("Helvetica", size=9.5)
        if answers is None:
            _blank(doc, el)
        else:
            value = answers.get(el.get("valueName") or el.get("name"))
            if kind == "signaturepad" and isinstance(value, str) and value and read_file is not None:
                _image(doc, value, read_file)
            else:
                doc.multi_cell(0, 5, _answer_text(el, value) or "(no answer)", new_x="LMARGIN", new_y="NEXT")
        doc.ln(1.5)


def _blank(doc, el):
    kind = el.get("type")
    if el.get("choices"):
        for c in el["choices"]:
            text = c.get("text", c.get("value")) if isinstance(c, dict) else c
            doc.multi_cell(0, 5, "[  ]  " + _title({"title": text}), new_x="LMARGIN", new_y="NEXT")
    elif kind == "boolean":
        doc.multi_cell(0, 5, "[  ] Yes     [  ] No", new_x="LMARGIN", new_y="NEXT")
    elif kind in ("matrix", "matrixdropdown"):
        cols = ", ".join(_title({"title": c.get("text", c.get("title", c.get("value", c.get("name")))) if isinstance(c, dict) else c}) for c in el.get("columns") or [])
        for r in el.get("rows") or []:
            row = r.get("text", r.get("value")) if isinstance(r, dict) else r
            doc.multi_cell(0, 5, f"{_title({'title': row})}:  {cols}", new_x="LMARGIN", new_y="NEXT")
    else:
        lines = 3 if kind in ("comment", "signaturepad", "matrixdynamic", "paneldynamic") else 1
        for _ in range(lines):
            doc.cell(0, 7, "_" * 95, new_x="LMARGIN", new_y="NEXT")


def _image(doc, ref, read_file):
    try:
        data, _content_type = read_file(ref)
        doc.image(io.BytesIO(data), h=18)
    except Exception:  # noqa: BLE001 - a broken image must not stop the PDF; say so instead
        doc.multi_cell(0, 5, "(signature image unavailable)", new_x="LMARGIN", new_y="NEXT")


def submission_pdf(definition: dict, answers: dict, evidence: dict, *, read_file=None) -> bytes:
    """A completed submission: every question with its answer, signature images, evidence footer."""
    doc = _new_doc()
    _form(doc, definition, answers, evidence=evidence, read_file=read_file)
    return bytes(doc.output())


def blank_pdf(definition: dict) -> bytes:
    """A printable blank version of a form."""
    doc = _new_doc()
    _form(doc, definition, None, evidence=None)
    return bytes(doc.output())


def packet_pdf(items: list[tuple[dict, dict | None, dict | None]], *, read_file=None) -> bytes:
    """Several forms in one PDF: items are (definition, answers or None for blank, evidence or None)."""
    doc = _new_doc()
    for definition, answers, evidence in items:
        _form(doc, definition, answers, evidence=evidence, read_file=read_file)
    return bytes(doc.output())
