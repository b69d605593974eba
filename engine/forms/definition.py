"""Definition checks: JSON Schema (engine/forms/schema.json, committed so the server needs no npm)
plus semantic checks the schema cannot express. Problems are keyed by JSON path.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import jsonschema

from engine.forms import jsregex
from engine.forms.expressions import ExpressionSyntaxError, functions, parse, variables
from engine.forms.functions import FUNCTIONS
from engine.forms.prefill import prefill_problems

QUESTION_TYPES = {
    "text",
    "comment",
    "radiogroup",
    "dropdown",
    "checkbox",
    "tagbox",
    "boolean",
    "rating",
    "matrix",
    "matrixdropdown",
    "matrixdynamic",
    "paneldynamic",
    "multipletext",
    "file",
    "signaturepad",
    "expression",
    "html",
    "image",
    "imagepicker",
    "ranking",
}
ELEMENT_TYPES = QUESTION_TYPES | {"panel"}
CELL_TYPES = {
    "text",
    "comment",
    "dropdown",
    "radiogroup",
    "checkbox",
    "tagbox",
    "boolean",
    "rating",
    "expression",
}
SCOPES = {"row", "panel", "rowIndex", "panelIndex", "parentPanel", "item", "choice"}
EXPRESSION_PROPS = ("visibleIf", "enableIf", "requiredIf", "expression")


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads((Path(__file__).with_name("schema.json")).read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def _path(parts) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def check_definition(definition) -> dict[str, list[str]]:
    """Every problem with a SurveyJS definition, by JSON path; `{}` when it is usable."""
    if not isinstance(definition, dict):
        return {"$": ["a form definition must be a JSON object"]}
    problems: dict[str, list[str]] = {}
    for err in _validator().iter_errors(definition):
        problems.setdefault(_path(err.absolute_path), []).append(err.message)
    if problems:
        return problems  # semantic checks assume the basic shape
    _Semantic(definition, problems).run()
    for path, messages in prefill_problems(definition).items():
        problems.setdefault(path, []).extend(messages)
    return problems


class _Semantic:
    def __init__(self, definition, problems):
        self.d = definition
        self.problems = problems
        self.names: dict[str, str] = {}  # lowercased name -> path (survey-core names are case-insensitive)
        self.expressions: list[tuple[str, str, set]] = []  # (path, text, extra scope names)

    def add(self, path, message):
        self.problems.setdefault(path, []).append(message)

    def run(self):
        if "pages" in self.d:
            for i, page in enumerate(self.d["pages"]):
                self.container(page.get("elements") or [], f"$.pages[{i}].elements", set())
                for prop in ("visibleIf", "enableIf"):
                    if prop in page:
                        self.expressions.append((f"$.pages[{i}].{prop}", page[prop], set()))
        else:
            self.container(self.d.get("elements") or [], "$.elements", set())
        known = set(self.names)
        for i, cv in enumerate(self.d.get("calculatedValues") or []):
            if cv["name"].lower() in known:
                self.add(f"$.calculatedValues[{i}].name", f"duplicate name {cv['name']!r}")
            known.add(cv["name"].lower())
            self.expressions.append((f"$.calculatedValues[{i}].expression", cv["expression"], set()))
        for path, text, local in self.expressions:
            self.expression(path, text, known, local)

    def container(self, elements, path, local):
        for i, el in enumerate(elements):
            self.element(el, f"{path}[{i}]", local)

    def register(self, name, path, local):
        if not name:
            self.add(path, "a question needs a name")
            return
        if re.search(r"[{}\[\].]", name):
            self.add(f"{path}.name", "names may not contain { } [ ] or .")
        key = name.lower()
        if local is not None and isinstance(local, set) and local is not self.names:
            if key in local:
                self.add(f"{path}.name", f"duplicate name {name!r}")
            local.add(key)
            return
        if key in self.names:
            self.add(f"{path}.name", f"duplicate name {name!r} (also at {self.names[key]})")
        else:
            self.names[key] = path

    def element(self, el, path, local):
        kind = el["type"]
        if kind not in ELEMENT_TYPES:
            self.add(f"{path}.type", f"unknown question type {kind!r}")
            return
        template_scope = local if local else None
        if kind == "panel":
            if el.get("name"):
                self.register(el["name"], path, None)
            self.container(el.get("elements") or [], f"{path}.elements", local)
        elif kind not in ("html", "image") or el.get("name"):
            if local:
                self.register(el.get("name", ""), path, template_scope)
            else:
                self.register(el.get("name", ""), path, None)
        for prop in EXPRESSION_PROPS:
            if isinstance(el.get(prop), str):
                self.expressions.append((f"{path}.{prop}", el[prop], set(local) if local else set()))
        for j, v in enumerate(el.get("validators") or []):
            if v["type"] == "expression" and v.get("expression"):
                self.expressions.append(
                    (f"{path}.validators[{j}].expression", v["expression"], set(local) if local else set())
                )
        self.regexes(el.get("validators"), f"{path}.validators")
        for j, item in enumerate(el.get("items") or [] if kind == "multipletext" else []):
            if isinstance(item, dict):
                self.regexes(item.get("validators"), f"{path}.items[{j}].validators")
        self.choices(el.get("choices"), f"{path}.choices")
        if (
            kind in ("radiogroup", "dropdown", "checkbox", "tagbox", "imagepicker", "ranking")
            and not el.get("choices")
            and not el.get("choicesByUrl")
            and not el.get("choicesFromQuestion")
        ):
            self.add(f"{path}.choices", "a choice question needs choices")
        if kind in ("matrix", "matrixdropdown"):
            self.choices(el.get("rows"), f"{path}.rows")
            if not el.get("rows"):
                self.add(f"{path}.rows", "a matrix needs rows")
        if kind == "matrix":
            self.choices(el.get("columns"), f"{path}.columns")
        if kind in ("matrixdropdown", "matrixdynamic"):
            self.columns(el.get("columns") or [], f"{path}.columns")
        if kind == "paneldynamic":
            inner: set = {"__template__"}
            self.container(el.get("templateElements") or [], f"{path}.templateElements", inner)
        if kind == "multipletext":
            seen = set()
            for j, item in enumerate(el.get("items") or []):
                name = item.get("name") if isinstance(item, dict) else None
                if not name or name in seen:
                    self.add(f"{path}.items[{j}]", "each item needs a unique name")
                seen.add(name)

    def regexes(self, validators, path):
        """Regex validators run on client input: refuse what cannot run in linear time (jsregex)."""
        for j, v in enumerate(validators if isinstance(validators, list) else []):
            if isinstance(v, dict) and v.get("type") == "regex" and v.get("regex"):
                why = jsregex.problem(v["regex"], bool(v.get("caseInsensitive", v.get("insensitive"))))
                if why:
                    self.add(f"{path}[{j}].regex", f"this pattern cannot be used: {why}")

    def columns(self, columns, path):
        seen = set()
        for j, col in enumerate(columns):
            if not isinstance(col, dict) or not col.get("name"):
                self.add(f"{path}[{j}]", "a column needs a name")
                continue
            if col["name"] in seen:
                self.add(f"{path}[{j}].name", f"duplicate column {col['name']!r}")
            seen.add(col["name"])
            if col.get("cellType", "dropdown") not in CELL_TYPES:
                self.add(f"{path}[{j}].cellType", f"unknown cell type {col.get('cellType')!r}")
            self.choices(col.get("choices"), f"{path}[{j}].choices")
            self.regexes(col.get("validators"), f"{path}[{j}].validators")
            if isinstance(col.get("visibleIf"), str):
                self.expressions.append(
                    (
                        f"{path}[{j}].visibleIf",
                        col["visibleIf"],
                        {c.get("name", "").lower() for c in columns if isinstance(c, dict)},
                    )
                )

    def choices(self, choices, path):
        if choices is None:
            return
        seen = set()
        for j, c in enumerate(choices):
            value = c.get("value") if isinstance(c, dict) else c
            key = json.dumps(value)
            if key in seen:
                self.add(f"{path}[{j}]", f"duplicate choice {value!r}")
            seen.add(key)

    def expression(self, path, text, known, local):
        try:
            tree = parse(text)
        except ExpressionSyntaxError as exc:
            self.add(path, f"expression does not parse: {exc}")
            return
        for fn in functions(tree):
            if fn not in FUNCTIONS:
                self.add(path, f"unknown function {fn}()")
        for var in variables(tree):
            head = re.split(r"[.\[]", var, maxsplit=1)[0].lower()
            if head in {s.lower() for s in SCOPES} or head in known or head in local or var.lower() in known:
                continue
            self.add(path, f"{{{var}}} names no question or calculated value")


_STEP = re.compile(r"\.([A-Za-z_]+)|\[(\d+)\]")


def problems_by_element(definition) -> list[dict]:
    """`check_definition`'s problems placed on the element they concern, for an editor to show beside
    it: [{path, name, title, messages}], `name`/`title` empty for problems about the form as a whole."""
    out = []
    for path, messages in check_definition(definition).items():
        node, owner, prop = definition, {}, ""
        for step, index in _STEP.findall(path):
            if step:
                node, prop = (node.get(step) if isinstance(node, dict) else None), step
                continue
            node = node[int(index)] if isinstance(node, list) and int(index) < len(node) else None
            if prop == "elements" and isinstance(node, dict) and "type" in node:
                owner = node  # the innermost question or panel on the path (not a validator or choice)
        out.append(
            {
                "path": path,
                "name": str(owner.get("name", "")),
                "title": str(owner.get("title", "")),
                "messages": messages,
            }
        )
    return out
