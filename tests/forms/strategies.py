"""Hypothesis strategies producing submissions for any SurveyJS definition.

Values mix what widgets produce (choices, numbers in range) with what a
hand-made request could send (blank strings, out-of-range numbers, unknown
choices), so both the happy path and every rule get exercised.
"""

from __future__ import annotations

from hypothesis import strategies as st

from engine.forms.validator import iter_questions, pages

TEXTS = ["", " ", "a", "ab", "abc12", "hello", "12345", "1", "5", "0", "-3", "2.5", "99", "250",
         "x@y.com", "bad@", "2009-05-01", "1990-01-31", "Sole legal custody", "self"]
DATA_URL = "data:image/png;base64,iVBORw0KGgo="


def _value(v):
    return v.get("value") if isinstance(v, dict) else v


def text_values(q):
    if q.get("inputType") in ("number", "range"):
        return st.one_of(st.integers(-5, 300), st.sampled_from(["", "7", "abc"]))
    if q.get("inputType") == "date":
        return st.sampled_from(["", "2001-02-03", "2015-06-30", "1980-12-01", "2020-01-01"])
    return st.sampled_from(TEXTS)


def question_values(q):
    kind = q.get("type")
    choices = [_value(c) for c in q.get("choices") or []]
    if q.get("showOtherItem"):
        choices.append("other")
    if q.get("showNoneItem"):
        choices.append("none")
    if kind in ("text", "comment"):
        return text_values(q)
    if kind in ("radiogroup", "dropdown"):
        return st.sampled_from(choices + ["not-a-choice"]) if choices else st.just("x")
    if kind in ("checkbox", "tagbox"):
        return st.lists(st.sampled_from(choices), max_size=len(choices), unique=True)
    if kind == "boolean":
        return st.booleans()
    if kind == "rating":
        return st.integers(q.get("rateMin", 1) - 1, q.get("rateMax", 5) + 1)
    if kind == "matrix":
        rows = [_value(r) for r in q.get("rows") or []]
        cols = [_value(c) for c in q.get("columns") or []]
        return st.dictionaries(st.sampled_from(rows), st.sampled_from(cols), max_size=len(rows))
    if kind == "matrixdropdown":
        rows = [_value(r) for r in q.get("rows") or []]
        return st.dictionaries(st.sampled_from(rows), row_values(q), max_size=len(rows))
    if kind == "matrixdynamic":
        return st.lists(row_values(q), max_size=3)
    if kind == "paneldynamic":
        return st.lists(submissions_for({"elements": q.get("templateElements") or []}), max_size=3)
    if kind == "multipletext":
        return st.dictionaries(st.sampled_from([i["name"] for i in q.get("items") or []]), st.sampled_from(TEXTS))
    if kind == "file":
        return st.sampled_from([[], [{"name": "card.png", "type": "image/png", "content": DATA_URL}]])
    if kind == "signaturepad":
        return st.sampled_from(["", DATA_URL])
    return st.nothing()


def row_values(q):
    cells = {}
    for col in q.get("columns") or []:
        fake = {"type": col.get("cellType", "text"), **col}
        cells[col["name"]] = question_values(fake)
    # Blank cells only as absent keys: survey-core rebuilds rows holding "" differently per matrix kind.
    return st.fixed_dictionaries({}, optional={k: v.filter(lambda x: x != "" and x != " ") for k, v in cells.items()})


def submissions_for(definition):
    optional = {}
    for page in pages(definition):
        for q in iter_questions(page.get("elements")):
            if q.get("type") in ("html", "image", "expression") or not q.get("name"):
                continue
            optional[q["name"]] = question_values(q)
            if q.get("showOtherItem"):
                optional[q["name"] + "-Comment"] = st.sampled_from(["", "my own answer"])
    return st.fixed_dictionaries({}, optional=optional)
