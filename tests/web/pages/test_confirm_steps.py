"""The confirm step (issue 16) on the server: booking, cancelling an appointment (portal and staff) and voiding
an invoice do nothing when posted without `confirmed=yes`, and answer with a page naming what would happen
whose Confirm button (no JavaScript needed) posts the same fields again and does it."""

from __future__ import annotations

import html as html_lib
import re
from datetime import date, timedelta

from engine.authz import SYSTEM
from engine.models.billing import Invoice
from engine.models.scheduling import Appointment
from engine.services.appointments import availability, scheduling
from engine.services.billing import billing
from tests.helpers import login_as, make_staff


def _post(client, path, csrf, data):
    return client.post(path, data={**data, "csrf_token": csrf["X-CSRFToken"]})


def _confirm_form(page: str) -> tuple[str, dict]:
    """The fallback page's form: where it posts and the fields it sends (csrf_token left out)."""
    action = re.search(r'<form method="post" action="([^"]+)" class="confirm-actions">', page).group(1)
    form = page[
        page.index('class="confirm-actions"') : page.index("</form>", page.index('class="confirm-actions"'))
    ]
    fields = {k: html_lib.unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', form)}
    fields.pop("csrf_token", None)
    return html_lib.unescape(action), fields


def _slot(practice) -> dict:
    on = date.today() + timedelta(days=3)
    return availability.open_slots(location="main", service_type_key="individual", date_from=on, date_to=on)[
        0
    ]


def _text(resp) -> str:
    return html_lib.unescape(resp.get_data(as_text=True))


def test_booking_asks_first_names_the_service_and_books_only_once_confirmed(client, practice):
    """Does a booking posted without its confirmation book nothing and ask "Book Individual with <therapist>
    at Main office on <day> at <time>?" — the same sentence the slot's button carries — and does the
    page's Confirm book it?"""
    csrf = login_as(client, practice["emails"]["guardian"])
    slot = _slot(practice)
    fields = {k: slot[k] for k in ("staff_id", "location", "service_type", "start")}
    listing = _text(client.get("/portal/appointments"))
    assert "Open times for <strong>Individual (50 min)</strong> at Main office" in listing  # which service
    asked = _post(client, "/portal/appointments/book", csrf, fields)
    assert asked.status_code == 200 and Appointment.objects.count() == 0
    page = _text(asked)
    sentence = re.search(r"Book Individual with [^<]+ at Main office on \w+day \d+ \w+ at \d\d:\d\d\?", page)
    assert sentence and slot["staff_name"] in sentence.group(0)
    assert "Nothing is booked until you confirm." in page
    assert f'data-confirm="{sentence.group(0)}"' in listing  # the dialog asks exactly what the page asks
    action, again = _confirm_form(page)
    assert action == "/portal/appointments/book" and again["confirmed"] == "yes"
    assert _post(client, action, csrf, again).status_code == 303
    assert Appointment.objects(status="booked").count() == 1


def test_portal_cancel_asks_first_and_cancels_only_once_confirmed(client, practice):
    """Does cancelling from the portal without the confirmation keep the appointment and ask, naming it?"""
    slot = _slot(practice)
    appt = scheduling.book(
        practice["guardian"],
        client_id=practice["minor"].id,
        staff_id=slot["staff_id"],
        location="main",
        service_type_key="individual",
        start=slot["start"],
    )
    csrf = login_as(client, practice["emails"]["guardian"])
    asked = _post(client, f"/portal/appointments/{appt['id']}/cancel", csrf, {"reason": "sick"})
    assert asked.status_code == 200 and Appointment.objects.get(id=appt["id"]).status == "booked"
    page = _text(asked)
    assert f"Cancel Individual with {slot['staff_name']} on " in page
    assert "The appointment stays booked until you confirm." in page
    action, again = _confirm_form(page)
    assert again == {"reason": "sick", "confirmed": "yes"}
    assert _post(client, action, csrf, again).status_code == 303
    done = Appointment.objects.get(id=appt["id"])
    assert (done.status, done.cancel_reason) == ("cancelled", "sick")


def test_staff_cancel_asks_first_naming_the_client(client, practice):
    """Does a therapist's cancel without the confirmation keep the appointment and ask, naming the client?"""
    slot = _slot(practice)
    appt = scheduling.book(
        practice["guardian"],
        client_id=practice["minor"].id,
        staff_id=slot["staff_id"],
        location="main",
        service_type_key="individual",
        start=slot["start"],
    )
    csrf = login_as(client, practice["emails"]["staff"])
    listing = _text(client.get("/staff/appointments"))
    name = practice["minor"].display_name
    assert f'data-confirm="Cancel Individual with {name} on ' in listing
    asked = _post(
        client, f"/staff/appointments/{appt['id']}", csrf, {"action": "cancel", "telehealth_url": ""}
    )
    assert asked.status_code == 200 and Appointment.objects.get(id=appt["id"]).status == "booked"
    assert f"Cancel Individual with {name} on " in _text(asked)
    assert (
        _post(
            client,
            f"/staff/appointments/{appt['id']}",
            csrf,
            {"action": "cancel", "telehealth_url": "", "confirmed": "yes"},
        ).status_code
        == 303
    )
    assert Appointment.objects.get(id=appt["id"]).status == "cancelled"


def test_void_asks_first_naming_invoice_client_and_amount(client, family):
    """Does voiding without the confirmation leave the invoice open and ask "Void invoice INV-… for <client>
    ($125.00)?", and does the page's Confirm void it?"""
    inv = billing.create_invoice(
        SYSTEM,
        family["minor"].id,
        {"line_items": [{"service": "Session", "service_date": "2026-11-02", "amount_cents": 12500}]},
    )
    desk = make_staff(roles=("front_desk",))
    csrf = login_as(client, desk.email)
    name = family["minor"].display_name
    sentence = f"Void invoice {inv['number']} for {name} ($125.00)?"
    assert f'data-confirm="{sentence}' in _text(client.get(f"/staff/clients/{family['minor'].id}/billing"))
    asked = _post(client, f"/staff/invoices/{inv['id']}/void", csrf, {"client_id": str(family["minor"].id)})
    assert asked.status_code == 200 and Invoice.objects.get(id=inv["id"]).status == "open"
    page = _text(asked)
    assert sentence in page and "The invoice stays open until you confirm." in page
    action, again = _confirm_form(page)
    assert _post(client, action, csrf, again).status_code == 303
    assert Invoice.objects.get(id=inv["id"]).status == "void"
