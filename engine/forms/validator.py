"""Submission validation (first cut: required questions only; grows into the full SurveyJS rules)."""

from __future__ import annotations


def _questions(elements):
    for el in elements or []:
        if el.get("type") == "panel":
            yield from _questions(el.get("elements"))
        else:
            yield el


def _all(definition):
    for page in definition.get("pages") or [definition]:
        yield from _questions(page.get("elements"))


def validate(definition: dict, data: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for q in _all(definition):
        if q.get("isRequired") and data.get(q.get("name")) in (None, "", [], {}):
            errors[q["name"]] = ["Response required."]
    return errors


def clean(definition: dict, data: dict) -> dict:
    names = {q.get("name") for q in _all(definition)}
    return {k: v for k, v in data.items() if k in names}
