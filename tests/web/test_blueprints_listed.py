"""create_app lists its blueprints (web/app.py): nothing is found by scanning packages."""

from __future__ import annotations

import pkgutil

import web.api
import web.pages
from web.app import API_BLUEPRINTS, PAGE_BLUEPRINTS


def _areas(package) -> set[str]:
    return {info.name for info in pkgutil.iter_modules(package.__path__) if not info.name.startswith("_")}


def test_every_api_and_page_module_is_listed():
    """Is every area module of web/api and web/pages in create_app's lists (a new one not forgotten)?"""
    assert {blp.import_name.rpartition(".")[2] for blp in API_BLUEPRINTS} == _areas(web.api)
    assert {bp.import_name.rpartition(".")[2] for bp in PAGE_BLUEPRINTS} == _areas(web.pages)


def test_the_app_serves_what_the_lists_name(app):
    """Does the app register every listed blueprint?"""
    names = {bp.name for bp in (*API_BLUEPRINTS, *PAGE_BLUEPRINTS)}
    assert names <= set(app.blueprints)
