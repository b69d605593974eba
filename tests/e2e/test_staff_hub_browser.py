"""The staff home and a client's hub in chromium, at desktop and phone widths: nothing scrolls
sideways, and the screenshots in docs/screenshots/ are taken from these pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.models.clients import Client
from engine.services.demo import seed_demo
from tests.helpers import sticking_out

PASSWORD = "demo-password-123"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.slow
@pytest.mark.parametrize(
    "size", [pytest.param(size, marks=pytest.mark.xdist_group(f"staff-hub-{size}")) for size in SIZES]
)  # one xdist group each (tests/conftest.py)
def test_staff_home_and_client_hub_fit_the_window(live_server, browser, size):
    """At 1280 and at 390 px wide, do the staff home (with its funnel) and a client's hub (with its tab
    bar) fit without sideways scrolling, each tab reachable, and are their screenshots saved?"""
    seed_demo(PASSWORD)
    alex = Client.objects.get(first_name="Alex")
    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(f"{live_server}/login")
        page.fill("#email", "orgadmin@harbor.example")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/staff")
        page.get_by_role("heading", name="Intake progress").wait_for()
        assert page.get_by_role("img", name="Submitted: 2 of 4 intakes, 50%").count() == 2  # practice + Priya
        assert sticking_out(page) == []
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"staff-home-{size}.png"), full_page=True)

        page.goto(f"{live_server}/staff/clients/{alex.id}")
        tabs = page.get_by_role("navigation", name="Client record")
        tabs.get_by_role("link", name="Overview").wait_for()
        assert page.get_by_text("Portal active").is_visible()
        assert sticking_out(page) == []
        page.screenshot(path=str(SHOTS / f"client-hub-{size}.png"), full_page=True)
        for name in ("Documents", "Messages", "Appointments", "Billing", "Insurance", "Contacts"):
            tabs.get_by_role("link", name=name).click()
            page.wait_for_load_state()
            current = page.get_by_role("navigation", name="Client record").locator('[aria-current="page"]')
            assert current.inner_text() == name
            assert sticking_out(page) == [], f"{name} scrolls sideways at {size}"
    finally:
        context.close()
