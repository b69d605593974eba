"""A small family for the portal-service tests: a minor, her guardian, an aunt without rights.

The `family` and `practice` fixtures (tests/fixtures/portal.py) build it for a test.
Each person comes with an engine Actor and, for API tests, login email.
"""

from __future__ import annotations

from datetime import date

from engine.authz import portal_actor, staff_actor
from tests.helpers import make_client, make_portal_account, make_staff


def build_family() -> dict:
    from engine.models.clients import Contact, ContactLink, LinkPermissions

    therapist = make_staff(roles=("therapist",))
    minor = make_client(first_name="Mia", date_of_birth=date(2014, 5, 1), assigned_staff=[therapist.id])
    minor_account = make_portal_account(client=minor)
    guardian = Contact(first_name="Gail", last_name="Guardian", email="gail@example.org").save()
    ContactLink(
        contact=guardian,
        client=minor,
        relationship="parent",
        is_guardian=True,
        permissions=LinkPermissions(forms=True, appointments=True, payments=True, messages=True),
    ).save()
    guardian_account = make_portal_account(contact=guardian, first_name="Gail")
    aunt = Contact(first_name="Ann", last_name="Aunt", email="ann@example.org").save()
    ContactLink(
        contact=aunt, client=minor, relationship="aunt", permissions=LinkPermissions(forms=True)
    ).save()
    aunt_account = make_portal_account(contact=aunt, first_name="Ann")
    return {
        "therapist": therapist,
        "minor": minor,
        "staff": staff_actor(therapist),
        "client": portal_actor(minor_account),
        "guardian": portal_actor(guardian_account),
        "aunt": portal_actor(aunt_account),
        "emails": {
            "staff": therapist.email,
            "client": minor_account.email,
            "guardian": guardian_account.email,
            "aunt": aunt_account.email,
        },
    }


def open_practice(family: dict) -> dict:
    """Give the organization one location and a 50-minute service, and the therapist 09:00–12:00 every day."""
    from engine.models.organization import Location, Organization, ServiceType
    from engine.services.appointments import availability

    org = Organization.get()
    org.name = "Calm Minds"
    org.timezone = "America/New_York"
    org.locations = [Location(key="main", name="Main office")]
    org.service_types = [ServiceType(key="individual", name="Individual", duration_minutes=50)]
    org.save()
    for weekday in range(7):
        availability.add_rule(
            family["staff"],
            family["therapist"].id,
            {"location": "main", "weekday": weekday, "start": "09:00", "end": "12:00"},
        )
    return family


def pay_with_test_card(page) -> None:
    """On the portal Billing page, pay the (only) open invoice with the sandbox's succeeding card."""
    # The pay form of the invoice, not the "Saved cards" form that also asks for a card number.
    form = page.locator("form[action$='/pay']").first
    form.get_by_label("Card number").fill("4242 4242 4242 4242")
    form.get_by_label("Expiry month").fill("12")
    form.get_by_label("Expiry year").fill("2040")
    form.get_by_label("Security code").fill("123")
    form.get_by_role("button", name="Pay now").click()
    page.get_by_text("payment received").wait_for()
