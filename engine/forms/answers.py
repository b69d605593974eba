"""Answers as people read them: each question's title with its answer in words, in the form's order.

One reading for every place a person sees a submission (the PDF, the acknowledgement page, the
submission page, a guardian's approval): choice labels instead of stored values, Yes/No instead of
true/false, dates as "3 Dec 2026", dynamic panels and matrices row by row. Nobody reading a
submission should meet a field key or a Python value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from engine.forms.validator import pages

# Question types with nothing to answer: shown as text (html) or not at all (expression is derived).
_NOT_ANSWERED = ("html", "image")


@dataclass(frozen=True)
class Line:
    """One line of a readable submission.

    kind: "section" (a page or panel title), "question" (title + text), "signature" (title + the file
    reference of its image, `text` empty) or "entry" (a heading for one panel or row of a dynamic
    question). Sections, entries and dynamic questions hold their lines in `children`.
    """

    kind: str
    title: str
    text: str = ""
    file_ref: str = ""
    required: bool = False
    children: list = field(default_factory=list)


def text_of(value) -> str:
    """A localizable SurveyJS string ("Name" or {"default": "Name", "fr": "Nom"}) as plain text."""
    if isinstance(value, dict):
        value = value.get("default") or next(iter(value.values()), "")
    return "" if value is None else str(value)


def title_of(el: dict) -> str:
    """What a question, panel or page is called: its title, else its name made readable."""
    title = text_of(el.get("title"))
    if title:
        return title
    name = str(el.get("name") or "")
    return name.replace("_", " ").strip().capitalize()


def _choice_label(choices, value) -> str:
    for c in choices or []:
        if isinstance(c, dict) and c.get("value") == value:
            return text_of(c.get("text", value))
        if c == value:
            return str(c)
    return _plain(value)


def _plain(value) -> str:
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def readable_date(value: str) -> str:
    """An ISO date ("2026-12-03") as "3 Dec 2026"; anything else unchanged."""
    try:
        day = date.fromisoformat(value[:10]) if isinstance(value, str) and len(value) >= 10 else None
    except ValueError:
        day = None
    if day is None:
        return _plain(value)
    rest = value[10:].lstrip("T ")
    return f"{day.day} {day:%b %Y}" + (f" {rest[:5]}" if rest else "")


def answer_text(el: dict, value) -> str:
    """One answer in words, as the question that asked it would put it."""
    if value is None or value == "" or value == [] or value == {}:
        return ""
    kind = el.get("type")
    if kind == "boolean":
        if value is el.get("valueTrue", True) or value == el.get("valueTrue"):
            return text_of(el.get("labelTrue")) or "Yes"
        if value is el.get("valueFalse", False) or value == el.get("valueFalse"):
            return text_of(el.get("labelFalse")) or "No"
        return _plain(value)
    if kind in ("radiogroup", "dropdown", "rating") and (el.get("choices") or el.get("rateValues")):
        return _choice_label(el.get("choices") or el.get("rateValues"), value)
    if kind in ("checkbox", "tagbox", "ranking"):
        values = value if isinstance(value, list) else [value]
        return ", ".join(_choice_label(el.get("choices"), v) for v in values)
    if kind == "text" and el.get("inputType") in ("date", "datetime-local"):
        return readable_date(value)
    if kind == "file":
        files = value if isinstance(value, list) else [value]
        return ", ".join(str(f.get("name") or "file") for f in files if isinstance(f, dict)) or "a file"
    if kind == "multipletext" and isinstance(value, dict):
        items = {i.get("name"): title_of(i) for i in el.get("items") or [] if isinstance(i, dict)}
        return "; ".join(
            f"{items.get(k, title_of({'name': k}))}: {_plain(v)}"
            for k, v in value.items()
            if v not in (None, "")
        )
    if kind == "matrix" and isinstance(value, dict):
        rows = {
            (r.get("value") if isinstance(r, dict) else r): text_of(r.get("text", r.get("value")))
            if isinstance(r, dict)
            else str(r)
            for r in el.get("rows") or []
        }
        return "; ".join(
            f"{rows.get(k, _plain(k))}: {_choice_label(el.get('columns'), v)}" for k, v in value.items()
        )
    if isinstance(value, dict):
        return "; ".join(f"{title_of({'name': k})}: {answer_text({}, v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(answer_text({}, v) for v in value)
    return _plain(value)


def _dynamic(el: dict, value, file_prefix: str) -> list[Line]:
    """A paneldynamic's panels or a matrixdynamic/matrixdropdown's rows, one entry each."""
    kind = el.get("type")
    lines: list[Line] = []
    if kind == "paneldynamic" and isinstance(value, list):
        noun = text_of(el.get("panelTitle")) or "Entry"
        for n, panel in enumerate(value, start=1):
            inner = _walk(
                el.get("templateElements") or [], panel if isinstance(panel, dict) else {}, file_prefix
            )
            heading = noun.replace("{panelIndex}", str(n)) if "{panelIndex}" in noun else f"{noun} {n}"
            lines.append(Line("entry", heading, children=inner))
        return lines
    columns = {c.get("name"): c for c in el.get("columns") or [] if isinstance(c, dict)}
    if isinstance(value, dict):  # matrixdropdown: row value -> {column: answer}
        rows = [
            (
                text_of(r.get("text", r.get("value"))) if isinstance(r, dict) else str(r),
                value.get(r.get("value") if isinstance(r, dict) else r),
            )
            for r in el.get("rows") or []
        ]
    else:
        rows = [(f"Row {n}", row) for n, row in enumerate(value or [], start=1)]
    for label, row in rows:
        if not isinstance(row, dict):
            continue
        inner = [
            Line(
                "question",
                title_of(col) if col else title_of({"name": name}),
                answer_text({"type": (col or {}).get("cellType", el.get("cellType", "")), **(col or {})}, v),
            )
            for name, v in row.items()
            for col in [columns.get(name)]
        ]
        lines.append(Line("entry", label, children=inner))
    return lines


def _walk(elements: list, answers: dict, file_prefix: str) -> list[Line]:
    lines: list[Line] = []
    for el in elements or []:
        if not isinstance(el, dict):
            continue
        kind = el.get("type")
        if kind == "panel":
            inner = _walk(el.get("elements") or [], answers, file_prefix)
            if inner:
                lines.append(Line("section", title_of(el) if el.get("title") else "", children=inner))
            continue
        if kind in _NOT_ANSWERED or kind == "expression" and not el.get("title"):
            continue
        value = answers.get(el.get("valueName") or el.get("name"))
        title, required = title_of(el), bool(el.get("isRequired"))
        if (
            kind == "signaturepad"
            and isinstance(value, str)
            and value.startswith(file_prefix)
            and file_prefix
        ):
            lines.append(Line("signature", title, file_ref=value, required=required))
        elif kind in ("paneldynamic", "matrixdynamic", "matrixdropdown") and value:
            lines.append(
                Line("question", title, required=required, children=_dynamic(el, value, file_prefix))
            )
        else:
            lines.append(Line("question", title, answer_text(el, value), required=required))
    return lines


def readable(definition: dict, answers: dict | None, *, file_prefix: str = "portico-file:") -> list[Line]:
    """Every question of the form with its answer in words, page by page, in the form's order.

    Pages with a title become sections; answers no question asks for (there should be none: the
    server keeps only answers to visible questions) are left out.
    """
    answers = answers or {}
    lines: list[Line] = []
    for page in pages(definition or {}):
        inner = _walk(page.get("elements") or [], answers, file_prefix)
        if page.get("title") and inner:
            lines.append(Line("section", title_of(page), children=inner))
        else:
            lines.extend(inner)
    return lines
