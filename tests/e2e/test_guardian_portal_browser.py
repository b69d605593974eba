"""The guardian's portal in a real browser (issue 6, acceptance 5): one guardian, two children;
switch profiles, message for the first, book and pay for the second."""

from __future__ import annotations

from datetime import date

from engine.authz import SYSTEM
from engine.models.billing import Invoice
from engine.models.clients import ContactLink, LinkPermissions
from engine.models.messaging import Message, MessageThread
from engine.models.scheduling import Appointment
from engine.services.billing import billing
from tests import portal_family
from tests.helpers import PASSWORD, make_client

MESSAGE = "Mia has a school trip on Thursday; can we move next week's session?"


def _second_child(practice: dict):
    """Gail's other child, Leo, with the same rights as Mia, seen by the same therapist."""
    mia_link = ContactLink.objects.get(client=practice["minor"], is_guardian=True)
    leo = make_client(
        first_name="Leo", date_of_birth=date(2017, 2, 3), assigned_staff=[practice["therapist"].id]
    )
    ContactLink(
        contact=mia_link.contact,
        client=leo,
        relationship="parent",
        is_guardian=True,
        permissions=LinkPermissions(forms=True, appointments=True, payments=True, messages=True),
    ).save()
    return leo


def _switch_to(page, base, name):
    page.goto(f"{base}/portal")
    page.get_by_role("radio", name=name).check()
    page.get_by_role("button", name="Switch").click()
    page.get_by_role("heading", level=1, name=name).wait_for()


def test_guardian_messages_books_and_pays_across_two_children(live_server, page, practice):
    """Can a guardian switch between two children's profiles, send a message for one, and book an
    appointment and pay an invoice with the sandbox test card for the other, each landing on the right child?"""
    mia, leo = practice["minor"], _second_child(practice)
    invoice = billing.create_invoice(
        SYSTEM,
        leo.id,
        {"line_items": [{"service": "Session", "service_date": "2026-11-02", "amount_cents": 9500}]},
    )

    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill(practice["emails"]["guardian"])
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url("**/portal**")
    page.goto(f"{live_server}/portal")
    switcher = page.get_by_role("group", name="Whose portal do you want to use?")
    assert switcher.get_by_role("radio").count() == 2
    for child in (mia, leo):
        assert switcher.get_by_role("radio", name=f"{child.first_name} {child.last_name}").is_visible()

    # Mia: a message in her thread, and only hers.
    _switch_to(page, live_server, f"{mia.first_name} {mia.last_name}")
    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Messages").click()
    page.get_by_label("Your message").fill(MESSAGE)
    page.get_by_role("button", name="Send").click()
    page.get_by_text("Message sent.").wait_for()
    assert page.get_by_role("list", name="Messages").get_by_text(MESSAGE).is_visible()
    mia_thread = MessageThread.objects.get(client=mia.id)
    assert [m.body for m in Message.objects(thread=mia_thread.id)] == [MESSAGE]
    assert MessageThread.objects(client=leo.id).count() == 0 and Message.objects(client=leo.id).count() == 0

    # Leo: book the first open slot, then pay his invoice.
    _switch_to(page, live_server, f"{leo.first_name} {leo.last_name}")
    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Appointments").click()
    page.get_by_role("button", name="Book ").first.click()
    page.wait_for_selector("dialog.confirm-dialog[open]")  # the confirm step names the booking first
    page.click("#confirm-dialog-yes")
    page.get_by_text("Appointment booked for").wait_for()
    booked = Appointment.objects(client=leo.id, status="booked")
    assert booked.count() == 1 and Appointment.objects(client=mia.id).count() == 0
    assert page.get_by_role("region", name="Upcoming").locator("article").count() == 1

    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Billing").click()
    portal_family.pay_with_test_card(page)
    assert page.get_by_role("link", name="Receipt R-").is_visible()
    paid = Invoice.objects.get(id=invoice["id"])
    assert paid.status == "paid" and paid.client == leo.id
