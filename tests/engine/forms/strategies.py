"""Hypothesis strategies producing submissions for any SurveyJS definition.

Values mix what widgets produce (choices, numbers in range) with what a
hand-made request could send (blank strings, out-of-range numbers, unknown
choices), so both the happy path and every rule get exercised.
"""

from __future__ import annotations

from hypothesis import strategies as st

from engine.forms.validator import iter_questions, pages

TEXTS = [
    "",
    " ",
    "a",
    "ab",
    "abc12",
    "hello",
    "12345",
    "1",
    "5",
    "0",
    "-3",
    "2.5",
    "99",
    "250",
    "x@y.com",
    "bad@",
    "2009-05-01",
    "1990-01-31",
    "Sole legal custody",
    "self",
]
DATA_URL = "data:image/png;base64,iVBORw0KGgo="


def _value(v):
    return v.get("value") if isinstance(v, dict) else v


def text_values(q):
    if q.get("inputType") in ("number", "range"):
        return st.one_of(st.integers(-5, 300), st.sampled_from(["", "7", "abc"]))
    if q.get("inputType") == "date":
        return st.sampled_from(["", "2001-02-03", "2015-06-30", "1980-12-01", "2020-01-01"])
    return st.sampled_from(TEXTS)


def question_values(q, foreign=True):
    """Values for q; `foreign=False` leaves out choices the question does not offer (survey-core drops
    such a value while it validates, in question order, so later conditions see it differently)."""
    kind = q.get("type")
    choices = [_value(c) for c in q.get("choices") or []]
    if q.get("showOtherItem"):
        choices.append("other")
    if q.get("showNoneItem"):
        choices.append("none")
    if kind in ("text", "comment"):
        return text_values(q)
    if kind in ("radiogroup", "dropdown"):
        return st.sampled_from(choices + ["not-a-choice"] * foreign) if choices else st.just("x")
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
        return st.dictionaries(st.sampled_from(rows), row_values(q, foreign), max_size=len(rows))
    if kind == "matrixdynamic":
        return st.lists(row_values(q, foreign), max_size=4)
    if kind == "paneldynamic":
        return st.lists(submissions_for({"elements": q.get("templateElements") or []}, foreign), max_size=4)
    if kind == "multipletext":
        return st.dictionaries(
            st.sampled_from([i["name"] for i in q.get("items") or []]), st.sampled_from(TEXTS)
        )
    if kind == "file":
        return st.sampled_from([[], [{"name": "card.png", "type": "image/png", "content": DATA_URL}]])
    if kind == "signaturepad":
        return st.sampled_from(["", DATA_URL])
    return st.nothing()


def row_values(q, foreign=True):
    cells = {}
    for col in q.get("columns") or []:
        fake = {"type": col.get("cellType", "text"), **col}
        cells[col["name"]] = question_values(fake, foreign)
    # Blank cells only as absent keys: survey-core rebuilds rows holding "" differently per matrix kind.
    return st.fixed_dictionaries(
        {}, optional={k: v.filter(lambda x: x != "" and x != " ") for k, v in cells.items()}
    )


def submissions_for(definition, foreign=True):
    optional = {}
    for page in pages(definition):
        for q in iter_questions(page.get("elements")):
            if q.get("type") in ("html", "image", "expression") or not q.get("name"):
                continue
            optional[q["name"]] = question_values(q, foreign)
            if q.get("showOtherItem"):
                optional[q["name"] + "-Comment"] = st.sampled_from(["", "my own answer"])
    return st.fixed_dictionaries({}, optional=optional)


# Random definitions around dynamic panels and dynamic matrices: min/max/default counts, required
# questions inside panels, panel- and row-scoped conditions, nested panels with their own visibility.
PANEL_CONDITIONS = [
    "{panel.kind} = 'a'",
    "{panel.size} > 2",
    "{panel.kind} notempty",
    "{panelIndex} = 0",
    "{panel.size} >= {limit}",
    "{panel.kind} = 'b' or {panel.size} < 1",
]
ROW_CONDITIONS = ["{row.kind} = 'a'", "{row.size} > 2", "{row.kind} notempty"]
TOP_CONDITIONS = [
    "{limit} > 1",
    "{limit} notempty",
    "countInArray({p0}, 'kind') > 1",
    "sumInArray({m1}, 'size') > 3",
    "{p0[0].kind} = 'a'",
    "isContainerReady('p0')",
]


def _maybe(draw, props: dict) -> dict:
    return {k: v for k, v in props.items() if draw(st.booleans())}


@st.composite
def dynamic_definitions(draw):
    """A small form with one dynamic panel (p0) and/or one dynamic matrix (m1) and conditions on them."""
    elements: list[dict] = [{"type": "text", "name": "limit", "inputType": "number"}]
    counts = st.sampled_from([0, 1, 2, 3])
    if True:  # every generated form has the dynamic panel; the matrix is optional
        template = [
            {"type": "dropdown", "name": "kind", "choices": ["a", "b"], **_maybe(draw, {"isRequired": True})},
            {
                "type": "text",
                "name": "size",
                "inputType": "number",
                **_maybe(draw, {"isRequired": True, "visibleIf": draw(st.sampled_from(PANEL_CONDITIONS))}),
            },
            {
                "type": "text",
                "name": "label",
                **_maybe(
                    draw,
                    {
                        "isRequired": True,
                        "visibleIf": draw(st.sampled_from(PANEL_CONDITIONS)),
                        "requiredIf": draw(st.sampled_from(PANEL_CONDITIONS)),
                        "enableIf": draw(st.sampled_from(PANEL_CONDITIONS)),
                    },
                ),
            },
        ]
        if draw(st.booleans()):
            template.append(
                {
                    "type": "panel",
                    "name": "inner0",
                    "visibleIf": draw(st.sampled_from(PANEL_CONDITIONS)),
                    "elements": [{"type": "text", "name": "detail", "isRequired": True}],
                }
            )
        elements.append(
            {
                "type": "paneldynamic",
                "name": "p0",
                "templateElements": template,
                **_maybe(
                    draw,
                    {
                        "minPanelCount": draw(counts),
                        "maxPanelCount": draw(st.sampled_from([2, 3])),
                        "panelCount": draw(counts),
                        "isRequired": True,
                        "visibleIf": draw(st.sampled_from(TOP_CONDITIONS[:2])),
                    },
                ),
            }
        )
    if draw(st.booleans()):
        columns = [
            {
                "name": "kind",
                "cellType": "dropdown",
                "choices": ["a", "b"],
                **_maybe(draw, {"isRequired": True}),
            },
            {
                "name": "size",
                "cellType": "text",
                "inputType": "number",
                **_maybe(draw, {"isRequired": True, "visibleIf": draw(st.sampled_from(ROW_CONDITIONS))}),
            },
            {
                "name": "label",
                "cellType": "text",
                **_maybe(
                    draw,
                    {
                        "isRequired": True,
                        "visibleIf": draw(st.sampled_from(ROW_CONDITIONS)),
                        "validators": [{"type": "regex", "regex": "^[a-z]+$"}],
                    },
                ),
            },
        ]
        elements.append(
            {
                "type": "matrixdynamic",
                "name": "m1",
                "columns": columns,
                **_maybe(
                    draw,
                    {
                        "minRowCount": draw(counts),
                        "maxRowCount": draw(st.sampled_from([2, 3])),
                        "rowCount": draw(counts),
                        "isRequired": True,
                    },
                ),
            }
        )
    names = {e["name"] for e in elements}
    conditions = [
        c for c in TOP_CONDITIONS if ("p0" in c) <= ("p0" in names) and ("m1" in c) <= ("m1" in names)
    ]
    elements.append(
        {
            "type": "text",
            "name": "summary",
            "isRequired": True,
            "visibleIf": draw(st.sampled_from(conditions)),
        }
    )
    return {"elements": elements}
