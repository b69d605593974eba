"""The JSON API under /api/v1 (flask-smorest: marshmallow schemas -> OpenAPI document).

Each area is one module exposing `blp`, a flask_smorest.Blueprint with
url_prefix under /api/v1. Every module here (not starting with "_") is registered.

A query parameter a route does not declare is refused (422 naming it) rather than ignored, so a
mistyped filter never silently widens an answer: `reject_unknown_query` runs before every API view.
"""

from __future__ import annotations

import importlib
import pkgutil

import marshmallow as ma
from flask import current_app, request
from flask_smorest import Api

from engine.errors import ValidationFailed


def register_api(api: Api) -> None:
    import web.api as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        area = info.name
        module = importlib.import_module(f"web.api.{area}")
        api.register_blueprint(module.blp)


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
        raise ValidationFailed(f"unknown query parameter: {', '.join(unknown)}",
                               details={name: ["Unknown field."] for name in unknown})
