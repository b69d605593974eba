"""Browser tests: Playwright from PyPI driving Debian's chromium against a live server.

`playwright install` cannot download a browser here, so we launch /usr/bin/chromium.
The live server is the real app (werkzeug, threaded) on the session's embedded
database and Redis.
"""

from __future__ import annotations

import os
import sys
import threading
import types

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("PORTICO_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]


@pytest.fixture()
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


# One Playwright per session, even when a module outside e2e/ imports these fixtures: that import may
# load this file a second time as another module, so the record lives in sys.modules.
_SHARED: dict = sys.modules.setdefault("_portico_e2e_shared", types.ModuleType("_portico_e2e_shared")).__dict__


@pytest.fixture(scope="session")
def browser():
    # A test module outside tests/e2e imports these fixtures, which makes pytest hold a second
    # session `browser`; a second sync_playwright() in one process fails, so it reuses the first.
    if "browser" in _SHARED:
        yield _SHARED["browser"]
        return
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"browser tests need {CHROMIUM} (apt-get install chromium); ./dev test installs it as root")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        _SHARED["browser"] = b
        yield b
        _SHARED.pop("browser", None)
        b.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
