"""Portico's shape checks: the answer has the type its question produces and comes from its choices.

survey-core leaves these to its widgets (a dropdown cannot produce an unknown
value), but the API accepts JSON from anywhere, so the server checks them.
"""

from __future__ import annotations

from engine.forms import jsvalues as js

SPECIAL_VALUES = {"other", "none", "selectall"}


def _choice_values(q) -> set | None:
    if q.get("choicesByUrl") or q.get("choicesFromQuestion"):
        return None  # choices come from elsewhere at run time
    values = set()
    for c in q.get("choices") or []:
        v = c.get("value") if isinstance(c, dict) else c
        values.add(js.to_js_string(v))
    if q.get("showOtherItem") or q.get("hasOther"):
        values.add("other")
    if q.get("showNoneItem") or q.get("hasNone"):
        values.add(
            js.to_js_string(q.get("noneItem", {}).get("value", "none"))
            if isinstance(q.get("noneItem"), dict)
            else "none"
        )
    return values


def _rating_values(q) -> set:
    if q.get("rateValues"):
        return {js.to_js_string(v.get("value") if isinstance(v, dict) else v) for v in q["rateValues"]}
    lo, hi, step = q.get("rateMin", 1), q.get("rateMax", 5), q.get("rateStep", 1) or 1
    out: set[str] = set()
    v = lo
    while v <= hi and len(out) < 1000:
        out.add(js.to_js_string(v))
        v += step
    return out


def shape_errors(q, value) -> list[str]:
    kind = q.get("type")
    if kind in ("text", "comment"):
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            return ["Expected text."]
        if kind == "text" and q.get("inputType") in ("number", "range") and js.to_number(value) is None:
            return ["The value should be numeric."]
        limit = q.get("maxLength")
        if isinstance(limit, int) and limit > 0 and len(js.to_js_string(value)) > limit:
            return [f"Please enter no more than {limit} character(s)."]
        return []
    if kind in ("radiogroup", "dropdown", "imagepicker") and not q.get("multiSelect"):
        allowed = _choice_values(q)
        if isinstance(value, (list, dict)):
            return ["Expected one choice."]
        if allowed is not None and js.to_js_string(value) not in allowed:
            return [f"{value!r} is not one of the choices."]
        return []
    if kind in ("checkbox", "tagbox", "ranking") or (kind == "imagepicker" and q.get("multiSelect")):
        if not isinstance(value, list):
            return ["Expected a list of choices."]
        allowed = _choice_values(q)
        bad = [
            v
            for v in value
            if isinstance(v, (list, dict)) or (allowed is not None and js.to_js_string(v) not in allowed)
        ]
        return [f"{v!r} is not one of the choices." for v in bad]
    if kind == "rating":
        if isinstance(value, (list, dict, bool)) or js.to_js_string(value) not in _rating_values(q):
            return [f"{value!r} is not on the scale."]
        return []
    if kind == "boolean":
        answers = [q.get("valueTrue", True), q.get("valueFalse", False)]  # a list: values may be unhashable
        return (
            [] if value in answers and type(value) in {type(a) for a in answers} else ["Expected yes or no."]
        )
    if kind == "signaturepad":
        return [] if isinstance(value, str) else ["Expected a signature image."]
    if kind == "file":
        items = value if isinstance(value, list) else None
        if items is None or not all(
            isinstance(f, dict) and isinstance(f.get("name", ""), str) for f in items
        ):
            return ["Expected a list of files."]
        return []
    if kind == "matrix":
        return _matrix_shape(q, value)
    if kind == "matrixdropdown":
        return (
            []
            if isinstance(value, dict) and all(isinstance(r, dict) for r in value.values())
            else ["Expected rows of answers."]
        )
    if kind in ("matrixdynamic", "paneldynamic"):
        return (
            []
            if isinstance(value, list) and all(isinstance(r, dict) for r in value)
            else ["Expected a list of entries."]
        )
    if kind == "multipletext":
        return [] if isinstance(value, dict) else ["Expected an object of answers."]
    return []


def _matrix_shape(q, value) -> list[str]:
    if not isinstance(value, dict):
        return ["Expected an answer per row."]
    rows = {js.to_js_string(r.get("value") if isinstance(r, dict) else r) for r in q.get("rows") or []}
    cols = {js.to_js_string(c.get("value") if isinstance(c, dict) else c) for c in q.get("columns") or []}
    out = [f"unknown row {k!r}" for k in value if k not in rows]
    out += [
        f"row {k}: {v!r} is not one of the columns"
        for k, v in value.items()
        if k in rows and js.to_js_string(v) not in cols
    ]
    return out
