"""Demo data for `portico up --demo`: the Harbor Counseling practice, its staff, clients and a guardian.

`seed_demo(password)` is idempotent: run it on every start and it finds what it
made before (by e-mail), creating only what is missing and resetting demo
passwords to `password` so the printed logins always work.
"""

from __future__ import annotations

from datetime import date

from engine.authz import SYSTEM
from engine.models import utcnow
from engine.models.accounts import PortalAccount, StaffMember
from engine.models.clients import Client, Contact, ContactLink
from engine.models.organization import Organization
from engine.services import clients as client_service
from engine.services import passwords, settings, staff

ORG_NAME = "Harbor Counseling"
DOMAIN = "harbor.example"
LOCATIONS: list[dict[str, object]] = [
    {"key": "harbor_st", "name": "Harbor Street office", "address": "12 Harbor Street, Portland, ME 04101"},
    {"key": "telehealth", "name": "Telehealth", "telehealth": True},
]
SERVICE_TYPES = [
    {"key": "intake_assessment", "name": "Intake assessment", "duration_minutes": 60, "price_cents": 18000},
    {"key": "individual", "name": "Individual therapy", "duration_minutes": 50, "price_cents": 14000},
    {"key": "family", "name": "Family therapy", "duration_minutes": 50, "price_cents": 16000},
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
    org = Organization.get()
    if org.name != ORG_NAME or len(org.locations) != len(LOCATIONS) or len(org.service_types) != len(SERVICE_TYPES):
        settings.configure_organization(SYSTEM, name=ORG_NAME, locations=LOCATIONS, service_types=SERVICE_TYPES)


def _staff(role: str, first: str, last: str, locations: list[str], services: list[str], password: str) -> StaffMember:
    address = f"{role.replace('_', '')}@{DOMAIN}"
    member = StaffMember.objects(email=address).first()
    if member is None:
        made = staff.create_staff(SYSTEM, {
            "first_name": first, "last_name": last, "email": address, "roles": [role], "password": password,
            "preferences": {"locations": locations, "service_types": services}})
        member = StaffMember.objects.get(id=made["id"])
    _set_password(member, password)
    return member


def _client(first: str, last: str, born: date, therapist: StaffMember, email: str | None = None) -> Client:
    client = Client.objects(first_name=first, last_name=last).first()
    if client is None:
        made = client_service.create_client(SYSTEM, {
            "first_name": first, "last_name": last, "date_of_birth": born, "email": email,
            "phone": "207-555-0100", "assigned_staff": [str(therapist.id)]})
        client = Client.objects.get(id=made["id"])
    return client


def _portal_account(email: str, first_name: str, password: str, *, client=None, contact=None) -> PortalAccount:
    account = PortalAccount.objects(email=email).first()
    if account is None:
        account = PortalAccount(email=email, first_name=first_name, client=client, contact=contact,
                                password_hash=passwords.hash_password(password), activated_at=utcnow())
        account.save()
    _set_password(account, password)
    for owner in (client, contact):
        if owner is not None and owner.portal_account is None:
            type(owner).objects(id=owner.id).update_one(set__portal_account=account)
    return account


def _guardian(password: str, minors: list[Client]) -> tuple[Contact, PortalAccount]:
    """A parent who is not a client: one contact, guardian of every minor, with a portal account."""
    address = f"guardian@{DOMAIN}"
    person = {"first_name": "Jordan", "last_name": "Rivera", "email": address, "phone": "207-555-0142",
              "relationship": "parent", "is_guardian": True,
              "permissions": dict.fromkeys(("forms", "appointments", "payments", "messages"), True)}
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
    members = {role: _staff(role, first, last, locs, svcs, password) for role, first, last, locs, svcs in STAFF}
    therapist = members["therapist"]

    adult = _client("Alex", "Morgan", _years_ago(34, today), therapist, email=f"client@{DOMAIN}")
    adult_account = _portal_account(f"client@{DOMAIN}", adult.first_name, password, client=adult)

    minors = [_client("Sam", "Rivera", _years_ago(14, today), therapist),
              _client("Ivy", "Rivera", _years_ago(9, today), therapist)]
    guardian, guardian_account = _guardian(password, minors)

    logins = [{"role": role, "email": m.email, "password": password, "name": m.display_name}
              for role, m in members.items()]
    logins.append({"role": "client", "email": adult_account.email, "password": password,
                   "name": adult.display_name})
    logins.append({"role": "guardian", "email": guardian_account.email, "password": password,
                   "name": f"{guardian.display_name} (guardian of {' and '.join(m.first_name for m in minors)})"})
    return logins
