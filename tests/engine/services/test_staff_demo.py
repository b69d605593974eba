"""The demo practice seeded for `portico up --demo`."""

from __future__ import annotations

from datetime import date

from engine.authz import portal_profiles, staff_actor
from engine.models.accounts import PortalAccount, StaffMember
from engine.models.clients import Client, Contact, ContactLink
from engine.models.organization import Organization
from engine.services import accounts
from engine.services.demo import seed_demo

PASSWORD = "demo-password-123"


def test_seed_demo_is_idempotent_and_its_logins_work(clean_db):
    """Does seeding twice give the same practice, and can every returned login sign in?"""
    first = seed_demo(PASSWORD)
    counts = (StaffMember.objects.count(), Client.objects.count(), Contact.objects.count(),
              ContactLink.objects.count(), PortalAccount.objects.count())
    second = seed_demo(PASSWORD)
    assert first == second
    assert counts == (3, 3, 1, 2, 2)
    assert {entry["role"] for entry in first} == {"org_admin", "therapist", "front_desk", "client", "guardian"}
    for entry in first:
        assert accounts.check_password(entry["email"], entry["password"]) is not None
    org = Organization.get()
    assert org.name == "Harbor Counseling" and len(org.service_types) == 3
    assert [loc.telehealth for loc in org.locations] == [False, True]


def test_demo_guardian_reaches_two_minors_and_therapist_sees_them(clean_db):
    """Does the demo guardian (not a client) reach both minors with every permission, assigned to the therapist?"""
    seed_demo(PASSWORD)
    guardian = PortalAccount.objects.get(email="guardian@harbor.example")
    assert guardian.client is None and guardian.contact.client is None
    profiles = portal_profiles(guardian)
    ages = sorted(p["client"].age_on(date.today()) for p in profiles)
    assert ages == [9, 14]
    assert all(p["is_guardian"] and all(p["permissions"].values()) for p in profiles)
    therapist = staff_actor(StaffMember.objects.get(email="therapist@harbor.example"))
    assert "portal.invite" not in therapist.permissions
    assert Client.objects(assigned_staff=therapist.account.id).count() == 3
