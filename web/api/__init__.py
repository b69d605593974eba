"""The JSON API under /api/v1 (flask-smorest: marshmallow schemas -> OpenAPI document).

Each area is one module exposing `blp`, a flask_smorest.Blueprint with
url_prefix under /api/v1, listed in web/app.py API_BLUEPRINTS.

A query parameter a route does not declare is refused (422 naming it) rather than ignored, so a
mistyped filter never silently widens an answer: `reject_unknown_query` runs before every API view.
"""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, request

from engine.errors import ValidationFailed


def _declared_query(endpoint: str, method: str) -> set[str]:
    """The query parameter names the view of `endpoint` declares through @blp.arguments(..., location="query")."""
    view = current_app.view_functions.get(endpoint)
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, method.lower(), None) if view_class is not None else view
    if handler is None and method == "HEAD" and view_class is not None:
        handler = getattr(view_class, "get", None)
    names: set[str] = set()
    for param in (getattr(handler, "_apidoc", {}).get("arguments") or {}).get("parameters", []):
        if param.get("in") != "query":
            continue
        schema = param["schema"]
        schema = schema() if isinstance(schema, type) and issubclass(schema, ma.Schema) else schema
        names |= {f.data_key or name for name, f in schema.fields.items() if not f.dump_only}
    return names


def reject_unknown_query() -> None:
    """Raise ValidationFailed (422) naming every query parameter the API route does not declare."""
    if not request.path.startswith("/api/") or request.endpoint is None or not request.args:
        return
    unknown = sorted(set(request.args) - _declared_query(request.endpoint, request.method))
    if unknown:
        raise ValidationFailed(
            f"unknown query parameter: {', '.join(unknown)}",
            details={name: ["Unknown field."] for name in unknown},
        )
