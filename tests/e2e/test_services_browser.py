"""Browser tests of the service pages: the staff calendar's drag to reschedule, and paying on a phone."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from engine.authz import SYSTEM
from engine.models.billing import SandboxCharge
from engine.services.appointments import availability, scheduling
from engine.services.billing import billing
from tests import portal_family
from tests.helpers import browser_login


def test_staff_drags_an_appointment_to_another_time(live_server, page, practice):
    """Does dragging an appointment in the week calendar move it, through the reschedule API?"""
    on = date.today() + timedelta(days=1)
    slot = availability.open_slots(location="main", service_type_key="individual", date_from=on, date_to=on)[
        0
    ]
    appt = scheduling.book(
        practice["staff"],
        client_id=practice["minor"].id,
        staff_id=slot["staff_id"],
        location="main",
        service_type_key="individual",
        start=slot["start"],
    )
    browser_login(page, live_server, practice["emails"]["staff"])
    page.goto(f"{live_server}/staff/calendar")
    if on.weekday() == 6:  # tomorrow is Sunday: the week view starts a new week there
        page.locator(".fc-next-button").click()
    event = page.locator(".fc-event").first
    event.wait_for()
    box = event.bounding_box()
    lane = page.locator('.fc-timegrid-slot-lane[data-time="20:00:00"]').first
    event.drag_to(lane, target_position={"x": box["x"] + box["width"] / 2 - lane.bounding_box()["x"], "y": 2})
    page.get_by_text("Moved to").wait_for()
    moved = scheduling.get_appointment(practice["staff"], appt["id"])
    assert datetime.fromisoformat(moved["start"]) > datetime.fromisoformat(appt["start"])
    assert moved["reschedule_count"] == 1


def test_guardian_pays_with_the_test_card_on_a_phone(live_server, browser, family):
    """On a phone-sized screen, can the guardian pay an invoice with 4242 4242 4242 4242 and see the receipt?"""
    billing.create_invoice(
        SYSTEM,
        family["minor"].id,
        {"line_items": [{"service": "Session", "service_date": "2026-11-02", "amount_cents": 9500}]},
    )
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        browser_login(page, live_server, family["emails"]["guardian"])
        page.goto(f"{live_server}/portal/billing")
        portal_family.pay_with_test_card(page)
        assert "Receipt R-" in page.content() and SandboxCharge.objects.count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    finally:
        context.close()
