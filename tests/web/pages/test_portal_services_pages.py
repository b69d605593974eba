"""Portal pages for messages, appointments, billing and insurance, driven as a guardian in a browser session."""

from __future__ import annotations

import io
import re

from engine.models.billing import SandboxCharge
from engine.services.billing import billing
from engine.services.messaging import messaging
from tests.helpers import login_as


def _form_post(client, path, csrf, data, **kw):
    return client.post(path, data={**data, "csrf_token": csrf["X-CSRFToken"]}, **kw)


def test_guardian_sends_a_message_with_attachment_from_the_page(client, family):
    """Does the guardian's messages page show the thread, and does posting with a file land in it?"""
    messaging.post_message(family["staff"], family["minor"].id, body="Welcome to the portal")
    csrf = login_as(client, family["emails"]["guardian"])
    page = client.get("/portal/messages")
    assert page.status_code == 200 and "Welcome to the portal" in page.get_data(as_text=True)
    assert messaging.unread_count(family["guardian"], family["minor"].id) == 0  # viewing read it
    resp = _form_post(
        client,
        "/portal/messages",
        csrf,
        {"body": "Here is the letter", "attachments": (io.BytesIO(b"%PDF-1.4 x"), "letter.pdf")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 303
    html = client.get("/portal/messages").get_data(as_text=True)
    assert "Here is the letter" in html and "letter.pdf" in html and "Message sent." in html


def test_aunt_cannot_open_the_messages_page(client, family):
    """Does a contact without the messages permission get 404 for the page?"""
    login_as(client, family["emails"]["aunt"])
    assert client.get("/portal/messages").status_code == 404


def test_guardian_books_and_cancels_from_the_page(client, practice):
    """Can the guardian book an open time and cancel it from the appointments page?"""
    csrf = login_as(client, practice["emails"]["guardian"])
    html = client.get("/portal/appointments").get_data(as_text=True)
    slot = dict(re.findall(r'name="(staff_id|location|service_type|start)" value="([^"]+)"', html)[:4])
    assert (
        _form_post(client, "/portal/appointments/book", csrf, {**slot, "confirmed": "yes"}).status_code == 303
    )
    html = client.get("/portal/appointments").get_data(as_text=True)
    assert "Appointment booked" in html and "Add to calendar" in html
    appt_id = re.search(r"/portal/appointments/([0-9a-f]{24})/cancel", html).group(1)
    assert (
        _form_post(
            client, f"/portal/appointments/{appt_id}/cancel", csrf, {"reason": "", "confirmed": "yes"}
        ).status_code
        == 303
    )
    assert "Appointment cancelled" in client.get("/portal/appointments").get_data(as_text=True)


def test_guardian_pays_with_the_test_card_and_double_submit_charges_once(client, family):
    """Does paying from the page with 4242… succeed, and a resubmitted form (same key) charge once?"""
    from engine.authz import SYSTEM

    billing.create_invoice(
        SYSTEM,
        family["minor"].id,
        {"line_items": [{"service": "Session", "service_date": "2026-11-02", "amount_cents": 12500}]},
    )
    csrf = login_as(client, family["emails"]["guardian"])
    html = client.get("/portal/billing").get_data(as_text=True)
    action = re.search(r'action="(/portal/billing/[0-9a-f]{24}/pay)"', html).group(1)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    card = {
        "idempotency_key": key,
        "number": "4242 4242 4242 4242",
        "exp_month": "12",
        "exp_year": "2040",
        "cvc": "123",
    }
    for _ in range(2):
        assert _form_post(client, action, csrf, card).status_code == 303
    html = client.get("/portal/billing").get_data(as_text=True)
    assert "payment received" in html and "Receipt R-" in html and SandboxCharge.objects.count() == 1
    receipt = client.get(re.search(r'href="(/portal/billing/receipts/[0-9a-f]{24})"', html).group(1))
    assert receipt.status_code == 200 and "$125.00" in receipt.get_data(as_text=True)


def test_declined_card_on_the_page_says_why(client, family):
    """Does a declined test card show the processor's reason and leave the invoice payable?"""
    from engine.authz import SYSTEM

    billing.create_invoice(
        SYSTEM,
        family["minor"].id,
        {"line_items": [{"service": "Session", "service_date": "2026-11-02", "amount_cents": 12500}]},
    )
    csrf = login_as(client, family["emails"]["guardian"])
    html = client.get("/portal/billing").get_data(as_text=True)
    action = re.search(r'action="(/portal/billing/[0-9a-f]{24}/pay)"', html).group(1)
    _form_post(
        client,
        action,
        csrf,
        {"idempotency_key": "k1", "number": "4000000000009995", "exp_month": "1", "exp_year": "2040"},
    )
    html = client.get("/portal/billing").get_data(as_text=True)
    assert "insufficient funds" in html and "Pay now" in html


def test_guardian_adds_insurance_with_card_photo(client, family):
    """Can the guardian add insurance with a card photo from the page, pending review?"""
    csrf = login_as(client, family["emails"]["guardian"])
    resp = _form_post(
        client,
        "/portal/insurance",
        csrf,
        {
            "payer": "Aetna",
            "member_id": "W1",
            "subscriber_name": "Gail G",
            "relationship": "child",
            "front": (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * 64), "front.png"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 303
    html = client.get("/portal/insurance").get_data(as_text=True)
    assert "Aetna" in html and "waiting for the practice" in html and "front" in html
