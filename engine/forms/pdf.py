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

from engine.forms.answers import Line, readable, title_of
from engine.forms.validator import pages

_MAP = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u2022": "*",
}
_TAGS = re.compile(r"<[^>]+>")


def latin1(text) -> str:
    """Text the core fonts can draw."""
    text = "" if text is None else str(text)
    text = "".join(_MAP.get(c, c) for c in text)
    text = unicodedata.normalize("NFKC", text)
    return text.encode("latin-1", "replace").decode("latin-1")


def _title(el) -> str:
    return latin1(title_of(el))


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
    if answers is None:
        for page in pages(definition):
            _elements(doc, page.get("elements") or [], read_file)
    else:
        _lines(doc, readable(definition, answers), read_file)
    if evidence:
        doc.ln(4)
        doc.set_font("Helvetica", "B", 9)
        doc.multi_cell(0, 4.5, "Evidence", new_x="LMARGIN", new_y="NEXT")
        doc.set_font("Helvetica", size=8)
        for label, k in EVIDENCE_LABELS:
            doc.multi_cell(0, 4, latin1(f"{label}: {evidence.get(k) or ''}"), new_x="LMARGIN", new_y="NEXT")


def _evidence_line(e: dict) -> str:
    return f"Signed {e.get('signed_at', '')} by {e.get('signer_name') or e.get('signer_account', '')} from {e.get('ip', '')} - SHA-256 {e.get('sha256', '')}"


# What the evidence block calls each part of a signature's evidence.
EVIDENCE_LABELS = (
    ("Signed by", "signer_name"),
    ("Signed at", "signed_at"),
    ("IP address", "ip"),
    ("Browser", "user_agent"),
    ("SHA-256 of the signed answers", "sha256"),
)


def _elements(doc, elements, read_file):
    """A blank form's questions, each with room to write an answer."""
    for el in elements:
        kind = el.get("type")
        if kind == "panel":
            doc.set_font("Helvetica", "B", 11)
            doc.multi_cell(0, 6, _title(el), new_x="LMARGIN", new_y="NEXT")
            _elements(doc, el.get("elements") or [], read_file)
            continue
        if kind == "html":
            doc.set_font("Helvetica", size=9)
            doc.multi_cell(
                0, 4.5, latin1(_TAGS.sub(" ", el.get("html", "")).strip()), new_x="LMARGIN", new_y="NEXT"
            )
            doc.ln(1)
            continue
        doc.set_font("Helvetica", "B", 9.5)
        doc.multi_cell(
            0, 5, _title(el) + (" *" if el.get("isRequired") else ""), new_x="LMARGIN", new_y="NEXT"
        )
        doc.set_font("Helvetica", size=9.5)
        _blank(doc, el)
        doc.ln(1.5)


def _lines(doc, lines: list[Line], read_file, indent: float = 0):
    """A filled form: each question with its answer in words (engine.forms.answers), as staff see it."""
    for line in lines:
        doc.set_x(doc.l_margin + indent)
        if line.kind in ("section", "entry"):
            if line.title:
                doc.set_font("Helvetica", "B", 11 if line.kind == "section" else 9.5)
                doc.multi_cell(0, 6, latin1(line.title), new_x="LMARGIN", new_y="NEXT")
            _lines(doc, line.children, read_file, indent + (0 if line.kind == "section" else 4))
            continue
        doc.set_font("Helvetica", "B", 9.5)
        doc.multi_cell(
            0, 5, latin1(line.title) + (" *" if line.required else ""), new_x="LMARGIN", new_y="NEXT"
        )
        doc.set_font("Helvetica", size=9.5)
        doc.set_x(doc.l_margin + indent)
        if line.kind == "signature" and read_file is not None:
            _image(doc, line.file_ref, read_file)
        elif line.children:
            _lines(doc, line.children, read_file, indent + 4)
        else:
            doc.multi_cell(0, 5, latin1(line.text) or "(no answer)", new_x="LMARGIN", new_y="NEXT")
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
        cols = ", ".join(
            _title(
                {
                    "title": c.get("text", c.get("title", c.get("value", c.get("name"))))
                    if isinstance(c, dict)
                    else c
                }
            )
            for c in el.get("columns") or []
        )
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
