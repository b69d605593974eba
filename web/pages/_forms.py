"""A page's form read with the API's schema for the same input (web/api/*), so a page and the API
accept the same fields and refuse them alike."""

from __future__ import annotations

from collections.abc import Mapping

import marshmallow as ma

from engine.errors import ValidationFailed


def _flat(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages by dotted field ("line_items.0.amount"), as the engine keys its own."""
    if not isinstance(messages, dict):
        return {prefix or "form": [str(m) for m in (messages if isinstance(messages, list) else [messages])]}
    out: dict[str, list[str]] = {}
    for key, value in messages.items():
        out.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def load(schema: type[ma.Schema], data: Mapping) -> dict:
    """`data` (built from the form) loaded by the API's `schema`; a wrong field is refused as the API
    refuses it: ValidationFailed "some fields are invalid", each field with its messages."""
    try:
        return schema().load(data)
    except ma.ValidationError as exc:
        raise ValidationFailed("some fields are invalid", details=_flat(exc.messages)) from None
