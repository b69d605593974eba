"""The JSON API under /api/v1 (flask-smorest: marshmallow schemas -> OpenAPI document).

Each area is one module exposing `blp`, a flask_smorest.Blueprint with
url_prefix under /api/v1. Add the module name to AREAS to register it.
"""

from __future__ import annotations

import importlib

from flask_smorest import Api

AREAS: list[str] = [
]


def register_api(api: Api) -> None:
    for area in AREAS:
        module = importlib.import_module(f"web.api.{area}")
        api.register_blueprint(module.blp)
