"""Server-side submission validation with survey-core's rules (the browser's verdict is the reference).

The survey-core layer (visibility, enablement, required, validators, matrices,
dynamic panels) must agree with survey-core exactly; tests/engine/forms/test_differential.py
holds it to that. `strict=True` adds Portico's shape checks (types, choices,
maxLength) that survey-core leaves to its widgets — a request can bypass widgets.
Errors are keyed by top-level question name; nested problems say where.
"""

from __future__ import annotations

import re

from engine.forms import jsregex
from engine.forms import jsvalues as js
from engine.forms.evaluator import Context, condition, run
from engine.forms.expressions import ExpressionSyntaxError

REQUIRED = "Response required."
MAX_TEXT_CHARS = 20_000  # per text in an answer; the longest intake comment is far shorter
TOO_LONG = f"This answer is too long (at most {MAX_TEXT_CHARS:,} characters)."
MAX_PARTS = 20_000  # values inside one answer (100 panels of 100 questions with lists still fit)
TOO_BIG = "This answer has too many parts."
_BINARY_TYPES = ("file", "signaturepad")
CONTAINERS = ("panel",)
NO_VALUE = ("html", "image", "expression")
_EMAIL = re.compile(
    r"""^(([^<>()\[\].,;:\s@"]+(\.[^<>()\[\].,;:\s@"]+)*)|(".+"))@(([^<>()=\[\].,;:\s@"]+\.)+[^<>()=\[\].,;:\s@"]{2,})$""",
    re.I,
)
_CHOICE_TYPES = ("radiogroup", "dropdown", "checkbox", "tagbox", "imagepicker", "ranking")


def pages(definition: dict) -> list[dict]:
    return definition.get("pages") or [{"elements": definition.get("elements") or []}]


def iter_questions(elements, *, nested: bool = False):
    """Every question in a list of elements (panels flattened; dynamic panel templates when nested)."""
    for el in elements or []:
        if el.get("type") == "panel":
            yield from iter_questions(el.get("elements"), nested=nested)
        else:
            yield el
            if nested and el.get("type") == "paneldynamic":
                yield from iter_questions(el.get("templateElements"), nested=True)


def all_questions(definition: dict, *, nested: bool = False):
    for page in pages(definition):
        yield from iter_questions(page.get("elements"), nested=nested)


def _safe_condition(expr, ctx) -> bool:
    try:
        return condition(expr, ctx)
    except ExpressionSyntaxError:
        return False  # survey-core treats an unparsable condition as false


def _visible(el, ctx) -> bool:
    if el.get("visible") is False:
        return False
    return not el.get("visibleIf") or _safe_condition(el["visibleIf"], ctx)


def _enabled(el, ctx) -> bool:
    if el.get("readOnly") is True:
        return False
    return not el.get("enableIf") or _safe_condition(el["enableIf"], ctx)


def _required(q, ctx) -> bool:
    if q.get("requiredIf"):
        return _safe_condition(q["requiredIf"], ctx)
    return q.get("isRequired") is True


def value_name(q) -> str:
    return q.get("valueName") or q.get("name")


def computed_values(definition: dict, data: dict) -> dict:
    """`data` plus calculated values and expression-question results, as survey-core computes them."""
    values = js.from_json(data)
    calculated = definition.get("calculatedValues") or []
    expressions = [
        q for q in all_questions(definition) if q.get("type") == "expression" and q.get("expression")
    ]
    # Two passes settle values that depend on each other in either order.
    for _ in range(2):
        for cv in calculated:
            if cv.get("name") and cv.get("expression"):
                values[cv["name"]] = _safe_run(cv["expression"], Context(values))
        for q in expressions:
            result = _safe_run(q["expression"], Context(values))
            if js.is_empty(result):
                values.pop(value_name(q), None)
            else:
                values[value_name(q)] = result
    return values


def _safe_run(expr, ctx):
    try:
        return run(expr, ctx)
    except ExpressionSyntaxError:
        return None


class _Run:
    def __init__(self, definition, data, strict):
        self.definition = definition
        self.strict = strict
        self.values = computed_values(definition, data)
        self.ctx = Context(self.values, container_ready=self.container_ready)
        self.errors: dict[str, list[str]] = {}
        self.visible_names: set[str] = set()
        self.through_hidden_panels = False

    def add(self, name, message):
        self.errors.setdefault(name, []).append(message)

    def container_ready(self, name) -> bool:
        found = _find_container(self.definition, name)
        if found is None:
            return False
        sub = _Run.__new__(_Run)
        sub.definition, sub.strict, sub.values, sub.ctx = self.definition, False, self.values, self.ctx
        sub.errors, sub.visible_names = {}, set()
        # survey-core's isContainerReady validates each question on its own visibility: a visible
        # question inside a hidden inner panel still counts (checked in Node).
        sub.through_hidden_panels = True
        if found.get("type") == "paneldynamic":
            # survey-core checks each existing panel: a dynamic panel with no panels is "ready"
            panels = dynamic_panels(found, self.values.get(value_name(found)))
            for i, panel in enumerate(panels):
                panel = panel if isinstance(panel, dict) else {}
                sub.walk(
                    found.get("templateElements"),
                    self.ctx.child(panel=panel, panelIndex=i),
                    panel,
                    True,
                    report_as=(found["name"], ""),
                )
        else:
            sub.walk(found.get("elements") or [], self.ctx, self.values, True)
        return not sub.errors

    def walk(self, elements, ctx, values, enabled, report_as=None):
        for el in elements or []:
            if not _visible(el, ctx) and not (self.through_hidden_panels and el.get("type") == "panel"):
                continue
            el_enabled = enabled and _enabled(el, ctx)
            if el.get("type") == "panel":
                self.walk(el.get("elements"), ctx, values, el_enabled, report_as)
                continue
            name = value_name(el)
            if report_as is None:
                self.visible_names.add(name)
            if el.get("type") in NO_VALUE or not el_enabled:
                continue
            messages = question_errors(el, values.get(name), ctx, values, self)
            for m in messages:
                if report_as is None:
                    self.add(el.get("name"), m)
                else:
                    self.add(report_as[0], f"{report_as[1]}{el.get('name')}: {m}")


def _find_container(definition, name):
    for page in pages(definition):
        if page.get("name") == name:
            return page
    stack = [el for page in pages(definition) for el in page.get("elements") or []]
    while stack:
        el = stack.pop()
        if el.get("name") == name and el.get("type") in ("panel", "paneldynamic"):
            return el
        stack.extend(el.get("elements") or [])
    return None


def is_answer_empty(q, value) -> bool:
    if isinstance(value, str) and q.get("type") in (
        "text",
        "comment",
        "signaturepad",
        "dropdown",
        "radiogroup",
    ):
        if not value.strip():
            return True
    if (
        q.get("type") in ("radiogroup", "dropdown", "checkbox", "tagbox")
        and not js.is_empty(value)
        and not (q.get("showOtherItem") or q.get("hasOther"))
        and q.get("choices")
    ):
        # survey-core ignores values that are not among the choices when deciding "answered"
        known = [c.get("value") if isinstance(c, dict) else c for c in q["choices"]]
        if q.get("showNoneItem") or q.get("hasNone"):
            known.append("none")
        items = value if isinstance(value, list) else [value]
        return not any(any(js.values_equal(item, k) for k in known) for item in items)
    return js.is_empty(value)


def _oversized(value) -> str | None:
    """TOO_LONG or TOO_BIG when an answer passes the caps; stops walking as soon as it does."""
    stack, parts = [value], 0
    while stack:
        v = stack.pop()
        parts += 1
        if parts > MAX_PARTS:
            return TOO_BIG
        if isinstance(v, str) and len(v) > MAX_TEXT_CHARS:
            return TOO_LONG
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return None


def question_errors(q, value, ctx, values, run_) -> list[str]:
    """survey-core's errors for one visible, enabled question (plus shape errors when strict)."""
    qtype = q.get("type")
    out: list[str] = []
    if run_.strict and qtype not in _BINARY_TYPES:
        # Typed text has a ceiling (files and signatures are data URLs, bounded by the upload limit):
        # an answer of megabytes is no answer, and every validator's work grows with its length.
        if count := count_errors(q, value):
            return count
        if too_big := _oversized([value, values.get(f"{value_name(q)}-Comment")]):
            return [too_big]
    if qtype in ("matrixdropdown", "matrixdynamic", "paneldynamic", "multipletext", "matrix"):
        out += complex_errors(q, value, ctx, values, run_)
    elif _required(q, ctx) and is_answer_empty(q, value):
        out.append(REQUIRED)
    if qtype in _CHOICE_TYPES and (q.get("showOtherItem") or q.get("hasOther")):
        chosen = value if isinstance(value, list) else [value]
        if "other" in chosen:
            comment = values.get(f"{value_name(q)}-Comment")
            if not isinstance(comment, str) or not comment.strip():
                out.append("Please type your answer in the Other field.")
    if qtype == "text" and not js.is_empty(value):
        out += _text_input_errors(q, value)
    out += validator_errors(q.get("validators"), value, ctx)
    if run_.strict and not js.is_empty(value):
        out += shape_errors(q, value)
    return out


def _text_input_errors(q, value) -> list[str]:
    kind = q.get("inputType", "text")
    if kind in ("number", "range"):
        n = js.to_number(value)
        if n is None:
            return []
        lo, hi = js.to_number(q.get("min")), js.to_number(q.get("max"))
        if lo is not None and n < lo:
            return [f"The value should not be less than {q['min']}"]
        if hi is not None and n > hi:
            return [f"The value should not be greater than {q['max']}"]
    if kind == "email" and isinstance(value, str) and not _EMAIL.match(value):
        return ["Please enter a valid e-mail address."]
    return []


def validator_errors(validators, value, ctx) -> list[str]:
    """Errors from a question's (or cell's) validators list; survey-core stops at the first failure."""
    for v in validators or []:
        message = _one_validator(v, value, ctx)
        if message:
            return [v.get("text") or message]
    return []


def _one_validator(v, value, ctx) -> str | None:
    kind = v.get("type")
    if kind == "expression":
        expr = v.get("expression")
        if expr and not _safe_condition(expr, ctx):
            return "The answer is not valid."
        return None
    if kind == "email":
        # survey-core's email validator only skips falsy values, so "  " fails it
        return (
            None
            if js.is_empty(value) or _EMAIL.match(js.to_js_string(value))
            else "Please enter a valid e-mail address."
        )
    if js.is_empty(value) or (isinstance(value, str) and not value.strip()):
        return None
    if kind == "numeric":
        n = js.to_number(value)
        if n is None:
            return "The value should be numeric."
        lo, hi = v.get("minValue"), v.get("maxValue")
        if lo is not None and lo > n or hi is not None and hi < n:
            return (
                f"The value should be between {lo} and {hi}."
                if lo is not None and hi is not None
                else (
                    f"The value should not be less than {lo}"
                    if lo is not None
                    else f"The value should not be greater than {hi}"
                )
            )
    elif kind == "text" and isinstance(value, str):
        # survey-core tests /\d+$/: only a digit at the very end counts
        if v.get("allowDigits") is False and value[-1:].isascii() and value[-1:].isdigit():
            return "Not allowed digits."
        if (v.get("minLength") or 0) > 0 and js.js_length(value) < v["minLength"]:
            return f"Please enter at least {v['minLength']} character(s)."
        if (v.get("maxLength") or 0) > 0 and js.js_length(value) > v["maxLength"]:
            return f"Please enter no more than {v['maxLength']} character(s)."
    elif kind == "regex" and v.get("regex"):
        # survey-core tests each item of a list, then the list itself (as JS text, "a,b")
        items = [*value, value] if isinstance(value, list) else [value]
        pattern = js.to_js_string(v["regex"])
        ignore_case = bool(v.get("caseInsensitive", v.get("insensitive")))
        if not all(jsregex.test(pattern, js.to_js_string(item), ignore_case) for item in items):
            return "The value does not match the required pattern."
    elif kind == "answercount" and isinstance(value, list) and value:
        if v.get("minCount") and len(value) < v["minCount"]:
            return f"Please select at least {v['minCount']} option(s)."
        if v.get("maxCount") and len(value) > v["maxCount"]:
            return f"Please select no more than {v['maxCount']} option(s)."
    return None


def validate(definition: dict, data: dict, *, strict: bool = True) -> dict[str, list[str]]:
    """Errors by question name for `data`; `{}` when valid."""
    if not isinstance(data, dict):
        return {"$": ["answers must be a JSON object"]}
    run_ = _Run(definition, data, strict)
    for page in pages(definition):
        if _visible(page, run_.ctx):
            run_.walk(page.get("elements"), run_.ctx, run_.values, _enabled(page, run_.ctx))
    return run_.errors


def clean(definition: dict, data: dict) -> dict:
    """Answers to visible questions only (plus their "-Comment"), with computed expression values."""
    run_ = _Run(definition, data, False)
    for page in pages(definition):
        if _visible(page, run_.ctx):
            run_.walk(page.get("elements"), run_.ctx, run_.values, True)
    keep = {}
    questions = {value_name(q): q for q in all_questions(definition)}
    for name in run_.visible_names:
        if name in run_.values and not js.is_empty(run_.values[name]):
            keep[name] = prune_nested(questions.get(name, {}), run_.values[name], run_.ctx)
        comment = f"{name}-Comment"
        if comment in data:
            keep[comment] = data[comment]
    for cv in definition.get("calculatedValues") or []:
        if cv.get("includeIntoResult") and cv.get("name") in run_.values:
            keep[cv["name"]] = run_.values[cv["name"]]
    return keep


# Imported last: these modules build on the helpers above (a cycle resolved at import time, not per call).
from engine.forms.complex import complex_errors, count_errors, dynamic_panels, prune_nested  # noqa: E402
from engine.forms.shape import shape_errors  # noqa: E402
