"""A multi-page form in the portal says where the person is in it (issue 16): "Page 2 of 4 — <title>"
over a progress bar, outside the survey, moving on with the pages, announced politely, and axe-core finds
nothing serious on the page at desktop and phone width."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.authz import SYSTEM
from engine.services.forms import forms as form_service
from tests.form_requests import request_form
from tests.helpers import browser_login, make_client, make_portal_account, sticking_out

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[3]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
TITLES = ["About you", "Your week", "Your sleep", "Anything else"]
FORM = {
    "title": "Check-in",
    "pages": [
        {
            "name": f"p{i}",
            "title": title,
            "elements": [{"type": "text", "name": f"q{i}", "title": f"Question {i + 1}"}],
        }
        for i, title in enumerate(TITLES)
    ],
}


def _serious(page) -> list[dict]:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: ./dev setup installs axe-core from web/package.json")
    page.add_script_tag(content=AXE.read_text())
    found = page.evaluate(
        "async () => (await axe.run(document)).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"]
)
def test_multi_page_form_shows_page_of_pages_and_passes_axe(live_server, browser, viewport):
    """Does a four-page form show "Page 1 of 4 — About you", move to "Page 2 of 4 — Your week" (bar at 2
    of 4) on Next, and pass axe with no serious violation on both pages, at this width?"""
    form_service.create_form(SYSTEM, "t_pages", "intake", "Check-in", FORM)
    form_service.publish(SYSTEM, "t_pages")
    person = make_client()
    account = make_portal_account(client=person)
    task = request_form(person, "t_pages")
    # bypass_csp: the test injects axe-core (the pages allow no inline script)
    context = browser.new_context(viewport=viewport, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    browser_login(page, live_server, account.email)
    page.goto(f"{live_server}/portal/tasks/{task.id}")
    label = page.locator("#form-page-label")
    label.get_by_text("Page 1 of 4 — About you").wait_for()
    assert label.get_attribute("aria-live") == "polite" and page.is_visible("#form-page-progress")
    assert _serious(page) == []
    page.locator(".sd-navigation__next-btn").click()
    label.get_by_text("Page 2 of 4 — Your week").wait_for()
    assert page.evaluate(
        "[document.getElementById('form-page-progress').value,"
        " document.getElementById('form-page-progress').max]"
    ) == [2, 4]
    assert _serious(page) == []
    assert sticking_out(page) == []
    context.close()
