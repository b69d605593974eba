"""Demo data for `portico up --demo`: the Harbor Counseling practice lived in for a while.

The practice set up (address, time zone, locations, services, cancellation policy, the default
packet), its staff with weekly hours, clients and a guardian, and something on every page of every
role: an appointment, an invoice due, a message thread, and one intake in each state a practice
meets (invited, in progress, awaiting acknowledgement, filed).

`seed_demo(password)` is idempotent: run it on every start and it finds what it
made before (by e-mail or name), creating only what is missing and resetting demo
passwords to `password` so the printed logins always work.
"""

from __future__ import annotations

from datetime import date, timedelta

from engine import persistence
from engine.authz import SYSTEM, portal_actor, staff_actor
from engine.models import utcnow
from engine.models.accounts import PortalAccount, StaffMember
from engine.models.billing import Invoice
from engine.models.clients import Client, Contact, ContactLink
from engine.models.messaging import Message
from engine.models.organization import Organization
from engine.models.scheduling import Appointment, AvailabilityRule
from engine.models.workflow import OutboxMessage, ProcessInstance, Task
from engine.services.accounts import passwords, staff
from engine.services.appointments import availability, scheduling
from engine.services.billing import billing
from engine.services.clients import clients as client_service
from engine.services.inbox import tasks
from engine.services.intake import (
    intake,
    intake_operations,  # noqa: F401 - registers the operations the seeding performs as a worker would
)
from engine.services.intake.intake_setup import install_shipped
from engine.services.messaging import messaging
from engine.services.practice import practice
from engine.workflow import outbox

ORG_NAME = "Harbor Counseling"
DOMAIN = "harbor.example"
PRACTICE = {
    "name": ORG_NAME,
    "address": "12 Harbor Street, Portland, ME 04101",
    "phone": "207-555-0100",
    "timezone": "America/New_York",
    "cancellation_policy": "Please cancel or move a session at least 24 hours ahead. Sessions cancelled "
    "later, or missed, are charged in full unless there was an emergency.",
}
LOCATIONS: list[dict[str, object]] = [
    {"key": "harbor_st", "name": "Harbor Street office", "address": "12 Harbor Street, Portland, ME 04101"},
    {"key": "telehealth", "name": "Telehealth", "telehealth": True},
]
SERVICE_TYPES = [
    {"key": "intake_assessment", "name": "Intake assessment", "duration_minutes": 60, "price_cents": 18000},
    {"key": "individual", "name": "Individual therapy", "duration_minutes": 50, "price_cents": 14000},
    {"key": "family", "name": "Family therapy", "duration_minutes": 50, "price_cents": 16000},
    {
        "key": "individual_video",
        "name": "Individual therapy by video",
        "duration_minutes": 50,
        "price_cents": 14000,
        "telehealth": True,
    },
]
# Weekly hours: (role, weekdays, start, end, location); 0 is Monday.
HOURS = [
    ("therapist", (0, 1, 2, 3), "09:00", "17:00", "harbor_st"),
    ("therapist", (4,), "09:00", "13:00", "telehealth"),
    ("org_admin", (2,), "13:00", "17:00", "harbor_st"),
]
# The screeners are quick to answer, so the seeded intakes past "invited" use them; the invited client
# gets the practice's default packet.
SCREENERS = ["phq9", "gad7"]
SCREENER_ANSWERS: dict[str, dict] = {
    "phq9": {**{f"phq9_{i}": 1 for i in range(1, 10)}, "phq9_difficulty": "Somewhat difficult"},
    "gad7": {f"gad7_{i}": 1 for i in range(1, 8)},
}
# One client per intake state: (first, last, years old, state).
INTAKES = [
    ("Casey", "Nguyen", 29, "invited"),
    ("Jamie", "Patel", 41, "awaiting_acknowledgement"),
    ("Riley", "Chen", 52, "filed"),
]
STAFF = [
    ("org_admin", "Morgan", "Reyes", ["harbor_st", "telehealth"], ["intake_assessment"]),
    ("therapist", "Priya", "Natarajan", ["harbor_st", "telehealth"], ["individual", "family"]),
    ("front_desk", "Dana", "Kowalski", ["harbor_st"], []),
]


def _years_ago(years: int, today: date) -> date:
    return today.replace(year=today.year - years, day=min(today.day, 28))


def _set_password(login, password: str) -> None:
    ok, _ = passwords.verify_password(login.password_hash or "", password)
    if not ok:
        type(login).objects(id=login.id).update_one(set__password_hash=passwords.hash_password(password))


def _organization() -> None:
    """The practice set up, and the shipped forms, default packet and processes installed (the
    seeded intakes need them before the workers' first start would install them)."""
    install_shipped()
    org = Organization.get()
    if (
        org.name != ORG_NAME
        or len(org.locations) != len(LOCATIONS)
        or len(org.service_types) != len(SERVICE_TYPES)
        or not org.cancellation_policy
    ):
        practice.update_practice(SYSTEM, {**PRACTICE, "locations": LOCATIONS, "service_types": SERVICE_TYPES})


def _hours(members: dict[str, StaffMember]) -> None:
    for role, days, start, end, location in HOURS:
        member = members[role]
        for day in days:
            if not AvailabilityRule.objects(staff=member.id, weekday=day, location=location).count():
                availability.add_rule(
                    SYSTEM, member.id, {"weekday": day, "start": start, "end": end, "location": location}
                )


def _perform_operations(instance_id) -> None:
    """What the workers would do next for this instance (mails, PDFs, filing), done now so the seeded
    state is the one described, whether or not the workers are running yet."""
    rows = persistence.collection(OutboxMessage)
    for _ in range(50):  # an intake has a handful of operations; a bound in case one keeps failing
        pending = list(rows.find({"instance_id": instance_id, "status": "pending"}, {"_id": 1}))
        if not pending:
            return
        for row in pending:
            outbox.perform(row["_id"])


def _open_tasks(instance_id, **query) -> list[dict]:
    return list(
        persistence.collection(Task)
        .find({"instance_id": instance_id, "status": "open", **query})
        .sort("_id", 1)
    )


def _intake(client: Client, state: str, staff_member: StaffMember, account: PortalAccount | None) -> None:
    """Start an intake for `client` and bring it to `state`, unless the client already has one."""
    if ProcessInstance.objects(client_id=client.id, process_id=intake.PROCESS).count():
        return
    packet = (
        None
        if state == "invited"
        else (["phq9", *practice_packet()] if state == "in_progress" else SCREENERS)
    )
    iid = intake.invite(SYSTEM, client.id, packet=packet)["id"]
    iid = ProcessInstance.objects.get(id=iid).id
    _perform_operations(iid)
    if state == "invited":
        return
    if account is None:  # the invitation made an account: activated here as the client would
        account = PortalAccount.objects.get(client=client.id)
        PortalAccount.objects(id=account.id).update_one(set__activated_at=utcnow())
        account.reload()
    client_side = portal_actor(account)
    for task in _open_tasks(iid, lane="client"):
        if state == "in_progress" and task["form_key"] != "phq9":
            continue
        tasks.complete(client_side, task["_id"], SCREENER_ANSWERS[task["form_key"]])
        _perform_operations(iid)
    if state == "filed":
        reviewer = staff_actor(staff_member)
        for task in _open_tasks(iid, role="acknowledgement"):
            tasks.complete(reviewer, task["_id"], {"decision": "acknowledge"})
            _perform_operations(iid)


def practice_packet() -> list[str]:
    """The practice's packet without the screener the in-progress client has already answered."""
    return [key for key in Organization.get().portal.intake_packet if key != "phq9"]


def _visit(client: Client, therapist: StaffMember, today: date) -> None:
    """A booked session next week, unless the client has one coming."""
    if Appointment.objects(client=client.id, status__in=["booked", "requested"]).count():
        return
    monday = today + timedelta(days=7 - today.weekday())
    slots = availability.open_slots(
        location="harbor_st",
        service_type_key="individual",
        date_from=monday,
        date_to=monday + timedelta(days=3),
        staff_id=therapist.id,
    )
    if slots:
        scheduling.book(
            staff_actor(therapist),
            client_id=client.id,
            staff_id=therapist.id,
            location="harbor_st",
            service_type_key="individual",
            start=slots[len(slots) // 2]["start"],
        )


def _invoice_due(client: Client, today: date) -> None:
    if Invoice.objects(client=client.id).count():
        return
    billing.create_invoice(
        SYSTEM,
        client.id,
        {
            "due_date": (today + timedelta(days=14)).isoformat(),
            "line_items": [
                {
                    "service_type": "intake_assessment",
                    "service_date": (today - timedelta(days=6)).isoformat(),
                },
                {"service_type": "individual", "service_date": (today - timedelta(days=1)).isoformat()},
            ],
        },
    )


def _thread(client: Client, account: PortalAccount, therapist: StaffMember) -> None:
    if Message.objects(client=client.id).count():
        return
    messaging.post_message(
        portal_actor(account),
        client.id,
        body="Hi Priya, could we move next week's session to the afternoon? Work got busy.",
    )
    messaging.post_message(
        staff_actor(therapist),
        client.id,
        body="Of course, Alex. I have Tuesday at 3 pm open; I'll move it there unless that doesn't suit you.",
    )


def _staff(
    role: str, first: str, last: str, locations: list[str], services: list[str], password: str
) -> StaffMember:
    address = f"{role.replace('_', '')}@{DOMAIN}"
    member = StaffMember.objects(email=address).first()
    if member is None:
        made = staff.create_staff(
            SYSTEM,
            {
                "first_name": first,
                "last_name": last,
                "email": address,
                "roles": [role],
                "password": password,
                "preferences": {"locations": locations, "service_types": services},
            },
        )
        member = StaffMember.objects.get(id=made["id"])
    _set_password(member, password)
    return member


def _client(first: str, last: str, born: date, therapist: StaffMember, email: str | None = None) -> Client:
    client = Client.objects(first_name=first, last_name=last).first()
    if client is None:
        made = client_service.create_client(
            SYSTEM,
            {
                "first_name": first,
                "last_name": last,
                "date_of_birth": born,
                "email": email,
                "phone": "207-555-0100",
                "assigned_staff": [str(therapist.id)],
            },
        )
        client = Client.objects.get(id=made["id"])
    return client


def _portal_account(
    email: str, first_name: str, password: str, *, client=None, contact=None
) -> PortalAccount:
    account = PortalAccount.objects(email=email).first()
    if account is None:
        account = PortalAccount(
            email=email,
            first_name=first_name,
            client=client,
            contact=contact,
            password_hash=passwords.hash_password(password),
            activated_at=utcnow(),
        )
        account.save()
    _set_password(account, password)
    for owner in (client, contact):
        if owner is not None and owner.portal_account is None:
            type(owner).objects(id=owner.id).update_one(set__portal_account=account)
    return account


def _guardian(password: str, minors: list[Client]) -> tuple[Contact, PortalAccount]:
    """A parent who is not a client: one contact, guardian of every minor, with a portal account."""
    address = f"guardian@{DOMAIN}"
    person = {
        "first_name": "Jordan",
        "last_name": "Rivera",
        "email": address,
        "phone": "207-555-0142",
        "relationship": "parent",
        "is_guardian": True,
        "permissions": dict.fromkeys(("forms", "appointments", "payments", "messages"), True),
    }
    for minor in minors:
        known = Contact.objects(email=address, client=None).first()
        if known is None or not ContactLink.objects(contact=known.id, client=minor.id).first():
            client_service.add_contact(SYSTEM, minor.id, person)  # reuses the contact by e-mail and names
    guardian = Contact.objects.get(email=address, client=None)
    return guardian, _portal_account(address, guardian.first_name, password, contact=guardian)


def seed_demo(password: str, *, today: date | None = None) -> list[dict]:
    """Create (or find) the demo practice and return its logins [{role, email, password, name}].

    Raises ValidationFailed when `password` is too weak for the password rules.
    """
    passwords.check_strength(password)
    today = today or date.today()
    _organization()
    members = {
        role: _staff(role, first, last, locs, svcs, password) for role, first, last, locs, svcs in STAFF
    }
    therapist = members["therapist"]
    _hours(members)

    adult = _client("Alex", "Morgan", _years_ago(34, today), therapist, email=f"client@{DOMAIN}")
    adult_account = _portal_account(f"client@{DOMAIN}", adult.first_name, password, client=adult)

    minors = [
        _client("Sam", "Rivera", _years_ago(14, today), therapist),
        _client("Ivy", "Rivera", _years_ago(9, today), therapist),
    ]
    guardian, guardian_account = _guardian(password, minors)

    _intake(adult, "in_progress", therapist, adult_account)
    for first, last, years, state in INTAKES:
        person = _client(
            first, last, _years_ago(years, today), therapist, email=f"{first.lower()}.{last.lower()}@{DOMAIN}"
        )
        _intake(person, state, therapist, None)
    _visit(adult, therapist, today)
    _invoice_due(adult, today)
    _thread(adult, adult_account, therapist)

    logins = [
        {"role": role, "email": m.email, "password": password, "name": m.display_name}
        for role, m in members.items()
    ]
    logins.append(
        {"role": "client", "email": adult_account.email, "password": password, "name": adult.display_name}
    )
    logins.append(
        {
            "role": "guardian",
            "email": guardian_account.email,
            "password": password,
            "name": f"{guardian.display_name} (guardian of {' and '.join(m.first_name for m in minors)})",
        }
    )
    return logins
