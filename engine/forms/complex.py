"""survey-core's rules for questions holding structured answers: matrix, matrixdropdown,
matrixdynamic, paneldynamic and multipletext. Problems are reported on the parent question
with the row/panel they concern, as survey-core marks the parent invalid.
"""

from __future__ import annotations

from engine.forms import jsvalues as js
from engine.forms.validator import REQUIRED, _required, _visible, is_answer_empty, validator_errors

DEFAULT_ROW_COUNT = 2  # survey-core's matrixdynamic rowCount when the answer has no rows
MAX_ROWS, MAX_PANELS = 1000, 100  # survey-core's settings.matrix.maxRowCount / panel.maxPanelCount


def _count(q, prop, default=0) -> int:
    n = q.get(prop, default)
    return n if isinstance(n, int) and not isinstance(n, bool) and n >= 0 else default


def dynamic_panels(q, value) -> list:
    """The panels survey-core builds for an answer: an empty answer gets max(panelCount,
    minPanelCount) blank panels, so their required questions fail; a non-empty one is kept."""
    if isinstance(value, list) and value:
        return value
    return [{} for _ in range(min(max(_count(q, "panelCount"), _count(q, "minPanelCount")), MAX_PANELS))]


def dynamic_rows(q, value) -> list:
    """The rows survey-core builds: no answer gets max(rowCount, minRowCount) blank rows, `[]` none,
    and a shorter answer is filled up to minRowCount with blank rows."""
    if not isinstance(value, list):
        return [
            {}
            for _ in range(
                min(max(_count(q, "rowCount", DEFAULT_ROW_COUNT), _count(q, "minRowCount")), MAX_ROWS)
            )
        ]
    missing = _count(q, "minRowCount") - len(value) if value else 0
    return value + [{} for _ in range(min(missing, MAX_ROWS))] if missing > 0 else value


def count_errors(q, value) -> list[str]:
    """Portico's own check (strict): a request cannot add or remove entries past the form's limits,
    which survey-core leaves to its add/remove buttons. Runs before the entries are walked."""
    if q.get("type") not in ("paneldynamic", "matrixdynamic") or not isinstance(value, list):
        return []
    panel = q["type"] == "paneldynamic"
    if panel and not value:
        return []  # the browser sends [] for panels left blank; dynamic_panels() checks those
    lo = _count(q, "minPanelCount" if panel else "minRowCount")
    hi = min(
        _count(q, "maxPanelCount" if panel else "maxRowCount", MAX_PANELS if panel else MAX_ROWS),
        MAX_PANELS if panel else MAX_ROWS,
    )
    if len(value) < lo:
        return [f"Please add at least {lo} entries."]
    if len(value) > hi:
        return [f"Please add no more than {hi} entries."]
    return []


def _value_of(item):
    return item.get("value") if isinstance(item, dict) else item


def _row_values(q):
    return [_value_of(r) for r in q.get("rows") or []]


def complex_errors(q, value, ctx, values, run_) -> list[str]:
    kind = q["type"]
    if kind == "matrix":
        return _matrix(q, value, ctx)
    if kind == "multipletext":
        return _multipletext(q, value, ctx)
    if kind == "paneldynamic":
        return _paneldynamic(q, value, ctx, run_)
    return _dropdown_matrix(q, value, ctx)


def _matrix(q, value, ctx) -> list[str]:
    out = []
    answers = value if isinstance(value, dict) else {}
    if _required(q, ctx) and js.is_empty(value):
        out.append(REQUIRED)
    elif q.get("isAllRowRequired") or q.get("eachRowRequired"):
        rows = [r for r in q.get("rows") or [] if not isinstance(r, dict) or _visible(r, ctx)]
        if any(js.is_empty(answers.get(js.to_js_string(_value_of(r)))) for r in rows):
            out.append("Response required: answer questions in all rows.")
    return out


def _multipletext(q, value, ctx) -> list[str]:
    answers = value if isinstance(value, dict) else {}
    out = []
    if _required(q, ctx) and js.is_empty(value):
        out.append(REQUIRED)
    for item in q.get("items") or []:
        name = item.get("name")
        v = answers.get(name)
        if item.get("isRequired") and (js.is_empty(v) or isinstance(v, str) and not v.strip()):
            out.append(f"{name}: {REQUIRED}")
        elif not js.is_empty(v):
            out += [f"{name}: {m}" for m in validator_errors(item.get("validators"), v, ctx)]
    return out


def _cell_empty(v) -> bool:
    return js.is_empty(v) or (isinstance(v, str) and not v.strip())


def _dropdown_matrix(q, value, ctx) -> list[str]:
    dynamic = q["type"] == "matrixdynamic"
    out = []
    if dynamic:
        rows = dynamic_rows(q, value)
        labelled = [(f"row {i + 1}", r if isinstance(r, dict) else {}) for i, r in enumerate(rows)]
        if _required(q, ctx) and _dynamic_rows_empty(value):
            out.append(REQUIRED)
        minimum = _count(q, "minRowCount")
        if minimum and _required(q, ctx) and sum(not js.is_empty(row) for _, row in labelled) < minimum:
            # survey-core validateMinRows: a required matrix needs minRowCount rows with an answer
            out.append(f"Please fill in at least {minimum} row(s).")
    else:
        answers = value if isinstance(value, dict) else {}
        labelled = []
        for r in q.get("rows") or []:
            if isinstance(r, dict) and not _visible(r, ctx):
                continue
            key = js.to_js_string(_value_of(r))
            row = answers.get(key)
            labelled.append((f"row {key}", row if isinstance(row, dict) else {}))
        if _required(q, ctx) and all(js.is_empty(row) for _, row in labelled):
            out.append(REQUIRED)
    for label, row in labelled:
        row_ctx = ctx.child(row=row)
        for col in q.get("columns") or []:
            name = col.get("name")
            if not name or not _visible(col, row_ctx):
                continue
            cell = row.get(name)
            if (
                col.get("inputType") in ("number", "range")
                and isinstance(cell, str)
                and js.to_number(cell) is None
            ):
                cell = None  # survey-core's numeric cell editor drops text that is not a number
            if col.get("isRequired") and (_cell_empty(cell) or is_answer_empty(_cell_question(q, col), cell)):
                out.append(f"{label}, {name}: {REQUIRED}")
            elif not _cell_empty(cell):
                out += [
                    f"{label}, {name}: {m}" for m in validator_errors(col.get("validators"), cell, row_ctx)
                ]
    return out


def _cell_question(q, col) -> dict:
    """A cell seen as the question survey-core builds for it (choices fall back to the matrix's)."""
    return {
        **col,
        "type": col.get("cellType") or q.get("cellType") or "dropdown",
        "choices": col.get("choices") or q.get("choices"),
    }


def _dynamic_rows_empty(value) -> bool:
    """survey-core keeps `[{}]` as given but rebuilds rows holding only blank cells into `[]`."""
    if not isinstance(value, list) or not value:
        return True
    if all(isinstance(r, dict) and not r for r in value):
        return False
    return all(not isinstance(r, dict) or all(_cell_empty(v) for v in r.values()) for r in value)


def _paneldynamic(q, value, ctx, run_) -> list[str]:
    panels = dynamic_panels(q, value)
    out = []
    # survey-core counts a panel as answered once it has any key, even a blank one.
    if _required(q, ctx) and not any(isinstance(p, dict) and p for p in panels):
        out.append(REQUIRED)
    before = {k: list(v) for k, v in run_.errors.items()}
    for i, panel in enumerate(panels):
        panel = panel if isinstance(panel, dict) else {}
        panel_ctx = ctx.child(panel=panel, panelIndex=i)
        run_.walk(
            q.get("templateElements"), panel_ctx, panel, True, report_as=(q["name"], f"panel {i + 1}, ")
        )
    # walk() reported nested problems under q's name; hand them back as this question's messages
    nested = run_.errors.get(q["name"], [])[len(before.get(q["name"], [])) :]
    if nested:
        run_.errors[q["name"]] = before.get(q["name"], [])
        if not run_.errors[q["name"]]:
            del run_.errors[q["name"]]
    return out + nested


def prune_nested(q, value, ctx):
    """`value` without answers hidden inside it: invisible columns' cells, invisible panel questions."""
    kind = q.get("type")
    if kind == "paneldynamic" and isinstance(value, list):
        from engine.forms.validator import (  # validator imports this module
            iter_questions,
            value_name,
        )

        out = []
        for i, panel in enumerate(value):
            if not isinstance(panel, dict):
                continue
            panel_ctx = ctx.child(panel=panel, panelIndex=i)
            visible = {value_name(t) for t in _visible_template(q.get("templateElements"), panel_ctx)}
            inner = {t.get("name"): t for t in iter_questions(q.get("templateElements"))}
            out.append(
                {k: prune_nested(inner.get(k, {}), v, panel_ctx) for k, v in panel.items() if k in visible}
            )
        return out
    if kind in ("matrixdropdown", "matrixdynamic"):
        rows = (
            value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
        )
        pruned = {}
        for key, row in rows:
            if not isinstance(row, dict):
                continue
            row_ctx = ctx.child(row=row)
            shown = {c.get("name") for c in q.get("columns") or [] if _visible(c, row_ctx)}
            pruned[key] = {k: v for k, v in row.items() if k in shown}
        return pruned if isinstance(value, dict) else [pruned[i] for i in sorted(pruned)]
    return value


def _visible_template(elements, ctx):
    for el in elements or []:
        if not _visible(el, ctx):
            continue
        if el.get("type") == "panel":
            yield from _visible_template(el.get("elements"), ctx)
        else:
            yield el
