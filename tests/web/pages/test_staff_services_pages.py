"""Staff pages for the portal services: a client's thread, unread list, billing, insurance, my calendar."""

from __future__ import annotations

import re

from engine.services.clients import insurance
from engine.services.messaging import messaging
from tests.helpers import login_as, make_staff


def _post(client, path, csrf, data):
    return client.post(path, data={**data, "csrf_token": csrf["X-CSRFToken"]})


def test_therapist_sees_unread_and_replies(client, family):
    """Does a guardian's message show in the therapist's unread list, and does the reply reach the thread?"""
    messaging.post_message(family["guardian"], family["minor"].id, body="Can we talk?")
    csrf = login_as(client, family["emails"]["staff"])
    html = client.get("/staff/messages").get_data(as_text=True)
    assert f"/staff/clients/{family['minor'].id}/messages" in html and "Mia" in html
    assert "Can we talk?" in client.get(f"/staff/clients/{family['minor'].id}/messages").get_data(
        as_text=True
    )
    assert "You have read everything" in client.get("/staff/messages").get_data(as_text=True)
    assert (
        _post(
            client, f"/staff/clients/{family['minor'].id}/messages", csrf, {"body": "Yes, Monday"}
        ).status_code
        == 303
    )
    assert messaging.unread_count(family["guardian"], family["minor"].id) == 1


def test_front_desk_issues_invoice_and_reviews_insurance(client, family):
    """Can front desk staff issue an invoice in dollars as people type them ("$180", "120.50"), see a wrong
    amount refused beside its field in words with everything typed kept, and accept a pending policy?"""
    desk = make_staff(roles=("front_desk",))
    csrf = login_as(client, desk.email)
    base = f"/staff/clients/{family['minor'].id}"
    resp = _post(
        client,
        f"{base}/invoices",
        csrf,
        {
            "service_0": "Session",
            "date_0": "2026-11-02",
            "amount_0": "120.50",
            "service_1": "Intake",
            "date_1": "2026-11-03",
            "amount_1": "$180",
        },
    )
    assert resp.status_code == 303
    html = client.get(f"{base}/billing").get_data(as_text=True)
    assert "INV-" in html and "$120.50" in html and "$180.00" in html and "$300.50" in html
    bad = _post(
        client,
        f"{base}/invoices",
        csrf,
        {"service_0": "Late session", "date_0": "2026-11-04", "amount_0": "lots", "due_date": "2026-12-01"},
    )
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert 'value="Late session"' in page and 'value="2026-11-04"' in page and 'value="lots"' in page
    assert 'value="2026-12-01"' in page
    assert '<p class="error" id="amount_0-error">must be an amount such as 140 or 140.00</p>' in page
    assert "amount_cents" not in page and "line_items" not in page
    policy = insurance.add_policy(
        family["guardian"],
        family["minor"].id,
        {"payer": "Aetna", "member_id": "W1", "subscriber_name": "Gail G"},
    )
    assert (
        _post(client, f"{base}/insurance/{policy['id']}/review", csrf, {"decision": "accepted"}).status_code
        == 303
    )
    assert "· accepted" in client.get(f"{base}/insurance").get_data(as_text=True)


def test_therapist_confirms_a_request_and_adds_hours(client, practice):
    """Does a portal request show on the therapist's calendar, get confirmed with a link, and new hours save?"""
    from datetime import date, timedelta

    from engine.services.appointments import availability, scheduling

    on = date.today() + timedelta(days=3)
    slot = availability.open_slots(location="main", service_type_key="individual", date_from=on, date_to=on)[
        0
    ]
    appt = scheduling.book(
        practice["guardian"],
        client_id=practice["minor"].id,
        staff_id=slot["staff_id"],
        location="main",
        service_type_key="individual",
        start=slot["start"],
        request=True,
    )
    csrf = login_as(client, practice["emails"]["staff"])
    html = client.get("/staff/appointments").get_data(as_text=True)
    assert "Confirm request" in html
    _post(
        client,
        f"/staff/appointments/{appt['id']}",
        csrf,
        {"status": "booked", "telehealth_url": "https://meet.example.org/x"},
    )
    assert scheduling.get_appointment(practice["staff"], appt["id"])["status"] == "booked"
    _post(
        client,
        "/staff/availability",
        csrf,
        {"weekday": "0", "location": "main", "start": "13:00", "end": "15:00"},
    )
    html = client.get("/staff/appointments").get_data(as_text=True)
    assert re.search(r"Monday 13:00–15:00", html)
