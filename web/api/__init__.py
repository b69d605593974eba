"""The JSON API under /api/v1 (flask-smorest: marshmallow schemas -> OpenAPI document).

Each area is one module exposing `blp`, a flask_smorest.Blueprint with
url_prefix under /api/v1. Every module here (not starting with "_") is registered.
"""

from __future__ import annotations

import importlib
import pkgutil

from flask_smorest import Api


def register_api(api: Api) -> None:
    import web.api as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        area = info.name
        module = importlib.import_module(f"web.api.{area}")
        api.register_blueprint(module.blp)
