"""Server-rendered pages (Jinja). One module per area, each exposing `bp`."""

from __future__ import annotations

import importlib

from flask import Flask

AREAS: list[str] = [
]


def register_pages(app: Flask) -> None:
    for area in AREAS:
        module = importlib.import_module(f"web.pages.{area}")
        app.register_blueprint(module.bp)
