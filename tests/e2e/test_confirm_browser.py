"""The confirm step in a real browser (issue 16): on a phone, tapping an open time opens a dialog that
names the service, the therapist, the place and the time; Go back (or Escape) books nothing and puts the
focus back on the time tapped; Confirm books. Cancelling asks the same way. With JavaScript off the same
taps lead to the server's own confirm page, and booking still needs the Confirm there. Front desk voids an
invoice the same way. The dialogs are photographed into docs/screenshots/ for the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.authz import SYSTEM
from engine.models.billing import Invoice
from engine.models.scheduling import Appointment
from engine.services.billing import billing
from tests.helpers import browser_login, make_staff, sticking_out

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}


def _serious(page) -> list[dict]:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: ./dev setup installs axe-core from web/package.json")
    page.add_script_tag(content=AXE.read_text())
    found = page.evaluate(
        "async () => (await axe.run(document)).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


def test_booking_on_a_phone_asks_naming_the_service_and_books_only_on_confirm(live_server, browser, practice):
    """On a phone: does the dialog name the service, do Go back and Escape book nothing and return the focus
    to the time tapped, does Confirm book, and does cancelling ask before it cancels?"""
    # bypass_csp: the test injects axe-core (the pages allow no inline script)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        browser_login(page, live_server, practice["emails"]["guardian"])
        page.goto(f"{live_server}/portal/appointments")
        first = page.locator(".svc-slots button").first
        staff_name = first.inner_text().split(" · ", 1)[1]
        first.tap()
        dialog = page.locator("dialog.confirm-dialog[open]")
        dialog.wait_for()
        sentence = dialog.locator(".confirm-sentence").inner_text()
        assert sentence.startswith(
            f"Book Individual with {staff_name} at Main office on "
        ) and sentence.endswith("?")
        assert page.evaluate("document.activeElement.id") == "confirm-dialog-back"  # the safe choice first
        assert _serious(page) == [] and sticking_out(page) == []
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "booking-confirm-phone.png"))

        page.locator("#confirm-dialog-back").tap()
        page.wait_for_selector("dialog.confirm-dialog:not([open])", state="attached")
        # The focus is back on the time tapped.
        assert page.evaluate("document.activeElement === document.querySelector('.svc-slots button')")
        first.tap()
        page.wait_for_selector("dialog.confirm-dialog[open]")
        page.keyboard.press("Escape")
        page.wait_for_selector("dialog.confirm-dialog:not([open])", state="attached")
        assert Appointment.objects.count() == 0  # Go back and Escape booked nothing

        first.tap()
        page.locator("#confirm-dialog-yes").tap()
        page.get_by_text("Appointment booked").wait_for()
        assert Appointment.objects(status="booked").count() == 1

        page.get_by_role("button", name="Cancel this appointment").tap()
        page.wait_for_selector("dialog.confirm-dialog[open]")
        assert (
            page.locator(".confirm-sentence")
            .inner_text()
            .startswith(f"Cancel Individual with {staff_name} on ")
        )
        page.locator("#confirm-dialog-yes").tap()
        page.get_by_text("Appointment cancelled").wait_for()
        assert Appointment.objects(status="cancelled").count() == 1
        assert errors == []
    finally:
        context.close()


def test_booking_without_javascript_goes_through_the_confirm_page(live_server, browser, practice):
    """With JavaScript off, does tapping a time show the server's confirm page (nothing booked yet), Go back
    lead back, and Confirm book?"""
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        browser_login(page, live_server, practice["emails"]["guardian"])
        page.goto(f"{live_server}/portal/appointments")
        page.locator(".svc-slots button").first.click()
        page.get_by_role("heading", name="Please confirm").wait_for()
        assert page.locator(".confirm-sentence").inner_text().startswith("Book Individual with ")
        assert "Nothing is booked until you confirm." in page.content() and Appointment.objects.count() == 0
        page.get_by_role("link", name="Go back").click()
        page.wait_for_url("**/portal/appointments*")
        page.locator(".svc-slots button").first.click()
        page.get_by_role("button", name="Book it").click()
        page.get_by_text("Appointment booked").wait_for()
        assert Appointment.objects(status="booked").count() == 1
    finally:
        context.close()


def test_front_desk_voids_an_invoice_only_after_confirming(live_server, browser, family):
    """At desktop width, does "Void this invoice" ask "Void invoice INV-… for <client> ($125.00)?", keep the
    invoice open on Go back, and void it on Confirm?"""
    inv = billing.create_invoice(
        SYSTEM,
        family["minor"].id,
        {"line_items": [{"service": "Session", "service_date": "2026-11-02", "amount_cents": 12500}]},
    )
    desk = make_staff(roles=("front_desk",))
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        browser_login(page, live_server, desk.email)
        page.goto(f"{live_server}/staff/clients/{family['minor'].id}/billing")
        page.get_by_role("button", name="Void this invoice").click()
        page.wait_for_selector("dialog.confirm-dialog[open]")
        sentence = page.locator(".confirm-sentence").inner_text()
        assert sentence.startswith(
            f"Void invoice {inv['number']} for {family['minor'].display_name} ($125.00)?"
        )
        assert page.get_attribute("#confirm-dialog-yes", "class") == "danger"
        assert _serious(page) == []
        page.screenshot(path=str(SHOTS / "void-confirm-desktop.png"))
        page.locator("#confirm-dialog-back").click()
        assert page.evaluate("document.activeElement.textContent.trim()") == "Void this invoice"
        assert Invoice.objects.get(id=inv["id"]).status == "open"
        page.get_by_role("button", name="Void this invoice").click()
        page.locator("#confirm-dialog-yes").click()
        page.get_by_text(f"Invoice {inv['number']} voided.").wait_for()
        assert Invoice.objects.get(id=inv["id"]).status == "void"
    finally:
        context.close()
