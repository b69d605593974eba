"""Definition checks (first cut)."""

from __future__ import annotations


def check_definition(definition) -> dict[str, list[str]]:
    if not isinstance(definition, dict):
        return {"$": ["must be an object"]}
    return {}
