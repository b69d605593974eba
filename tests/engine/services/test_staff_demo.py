"""The demo practice seeded for `portico up --demo`."""

from __future__ import annotations

from datetime import date, timedelta

from engine.authz import portal_profiles, staff_actor
from engine.models.accounts import PortalAccount, StaffMember
from engine.models.billing import Invoice
from engine.models.clients import Client, Contact, ContactLink
from engine.models.documents import Document
from engine.models.forms import Submission
from engine.models.messaging import Message
from engine.models.organization import Organization
from engine.models.scheduling import Appointment
from engine.models.workflow import ProcessInstance, Task
from engine.services.accounts import accounts
from engine.services.appointments import availability
from engine.services.demo import seed_demo
from engine.services.intake.intake_setup import DEFAULT_PACKET
from engine.services.practice import practice

PASSWORD = "demo-password-123"


def test_seed_demo_is_idempotent_and_its_logins_work(clean_db):
    """Does seeding twice give the same practice, and can every returned login sign in?"""
    first = seed_demo(PASSWORD)
    counts = (
        StaffMember.objects.count(),
        Client.objects.count(),
        Contact.objects.count(),
        ContactLink.objects.count(),
        PortalAccount.objects.count(),
    )
    second = seed_demo(PASSWORD)
    assert first == second
    # Three more clients than before issue 15 (one intake in each state) and their portal accounts.
    assert counts == (3, 6, 1, 2, 5)
    assert {entry["role"] for entry in first} == {
        "org_admin",
        "therapist",
        "front_desk",
        "client",
        "guardian",
    }
    for entry in first:
        assert accounts.check_password(entry["email"], entry["password"]) is not None
    org = Organization.get()
    assert org.name == "Harbor Counseling" and len(org.service_types) == 4
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
    assert Client.objects(assigned_staff=therapist.account.id).count() == 6


def test_demo_practice_is_lived_in_with_one_intake_in_each_state(clean_db):
    """Does the demo give every role something to see: a set-up practice with the default packet,
    therapists' hours and services, an appointment, an invoice due, a message thread, and one intake
    invited, one in progress, one awaiting acknowledgement and one filed?"""
    today = date.today()
    seed_demo(PASSWORD)
    org = Organization.get()
    assert list(org.portal.intake_packet) == list(DEFAULT_PACKET) and org.cancellation_policy
    admin = staff_actor(StaffMember.objects.get(email="orgadmin@harbor.example"))
    assert [s["step"] for s in practice.checklist(admin)["steps"] if not s["done"]] == ["logo"]

    def intake_of(first: str) -> tuple[ProcessInstance, list[Task]]:
        client = Client.objects.get(first_name=first)
        instance = ProcessInstance.objects.get(client_id=client.id, process_id="client_intake")
        return instance, list(Task.objects(instance_id=instance.id, status="open"))

    invited, open_tasks = intake_of("Casey")
    assert invited.status == "running" and [t.form_key for t in open_tasks if t.lane == "client"] != []
    assert sorted(t.form_key for t in open_tasks) == sorted(DEFAULT_PACKET)
    assert PortalAccount.objects.get(email="casey.nguyen@harbor.example").activated_at is None

    in_progress, open_tasks = intake_of("Alex")
    assert in_progress.status == "running" and "phq9" not in {t.form_key for t in open_tasks}
    assert {t.form_key for t in open_tasks if t.lane == "client"} == set(DEFAULT_PACKET)
    assert (
        Submission.objects(
            client=Client.objects.get(first_name="Alex").id, form_key="phq9", status="completed"
        ).count()
        == 1
    )

    waiting, open_tasks = intake_of("Jamie")
    assert (
        waiting.status == "running"
        and {t.role for t in open_tasks} == {"acknowledgement"}
        and len(open_tasks) == 2
    )

    filed, open_tasks = intake_of("Riley")
    assert filed.status == "completed" and open_tasks == []
    riley = Client.objects.get(first_name="Riley")
    assert Document.objects(client=riley.id, kind="packet").count() == 1

    therapist = StaffMember.objects.get(email="therapist@harbor.example")
    monday = today + timedelta(days=7 - today.weekday())
    assert availability.open_slots(
        location="harbor_st",
        service_type_key="individual",
        date_from=monday,
        date_to=monday,
        staff_id=therapist.id,
    )
    alex = Client.objects.get(first_name="Alex")
    assert Appointment.objects(client=alex.id, status="booked").count() == 1
    invoice = Invoice.objects.get(client=alex.id)
    assert invoice.balance_cents == 18000 + 14000 and invoice.due_date > today
    assert [li.service for li in invoice.line_items] == ["Intake assessment", "Individual therapy"]
    assert Message.objects(client=alex.id).count() == 2
