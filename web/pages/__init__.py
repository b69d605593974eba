"""Server-rendered pages (Jinja). One module per area, each exposing `bp`; every module here (not starting with "_") is registered."""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask

from engine.authz import PERMISSIONS


def register_pages(app: Flask) -> None:
    import web.pages as pkg

    # Pages that leave out a control for want of a permission name it by its title (templates/_permission.html).
    app.add_template_global(lambda code: PERMISSIONS[code], "permission_title")
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        area = info.name
        module = importlib.import_module(f"web.pages.{area}")
        app.register_blueprint(module.bp)
