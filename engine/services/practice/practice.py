"""The practice's own set-up: name, logo, address, phone, time zone, locations, service types and
cancellation policy, and the first-run checklist that walks a new admin through them.

Staff type what people read (a location's name, a price in dollars, a duration in minutes); the
keys that availability rules, staff preferences and appointments refer to are derived from the names
once and then kept, so renaming "Harbor St" to "Harbor Street office" does not orphan a rule.

Domain errors: Forbidden (without staff.manage), ValidationFailed (every wrong field at once),
StaleVersion (two admins saving at once), TooLarge / UnsupportedMediaType (the logo), NotFound.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from zoneinfo import available_timezones

from engine.authz import Actor
from engine.errors import NotFound, TooLarge
from engine.models.accounts import StaffMember
from engine.models.organization import Location, Organization, ServiceType
from engine.models.scheduling import AvailabilityRule
from engine.services._fields import Problems, boolean, money, text
from engine.services.platform import audit, files
from engine.services.practice.settings import save_org

MANAGE = "staff.manage"
DEFAULT_NAME = "My Practice"  # what Organization.get() names a fresh practice
# Browsers show these in an <img>; HEIC (accepted elsewhere for phone photos) they do not.
LOGO_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
LOGO_MAX_BYTES = 1024 * 1024
LOGO_PURPOSE = "practice_logo"
MAX_ROWS = 50
_KEY = re.compile(r"^[a-z0-9_]{1,40}$")


def describe_practice(org: Organization | None = None) -> dict:
    """The practice as the set-up page and API show it (prices also as dollars text for people)."""
    org = org or Organization.get()
    return {
        "name": org.name,
        "address": org.address or "",
        "phone": org.phone or "",
        "timezone": org.timezone,
        "cancellation_policy": org.cancellation_policy or "",
        "has_logo": bool(org.logo_file_id),
        "logo_url": "/practice/logo" if org.logo_file_id else None,
        "locations": [
            {
                "key": loc.key,
                "name": loc.name,
                "address": loc.address or "",
                "telehealth": bool(loc.telehealth),
            }
            for loc in org.locations
        ],
        "service_types": [
            {
                "key": s.key,
                "name": s.name,
                "duration_minutes": s.duration_minutes,
                "price_cents": s.price_cents,
                "price": dollars(s.price_cents),
                "telehealth": bool(s.telehealth),
            }
            for s in org.service_types
        ],
    }


def dollars(cents: int) -> str:
    """140.00 for 14000 cents: how a price is typed and shown."""
    return f"{Decimal(cents or 0) / 100:.2f}"


def time_zones() -> list[str]:
    """Every IANA time zone name this machine knows, sorted (the set-up page's choices)."""
    return sorted(available_timezones())


def update_practice(actor: Actor, data: dict) -> dict:
    """Save the practice's set-up; fields left out keep their value. Needs staff.manage.

    `locations` and `service_types` replace the lists: a row keeps the `key` it comes with (so a
    renamed row keeps its key; an integration may choose its own), a row without one gets a key
    derived from its name.
    Raises Forbidden, ValidationFailed, StaleVersion.
    """
    actor.require(MANAGE)
    org = Organization.get()
    problems = Problems()
    update: dict = {}
    if "name" in data:
        update["set__name"] = text(data["name"], "name", problems, required=True, max_length=200)
    for name, limit in (("address", 300), ("phone", 40), ("cancellation_policy", 2000)):
        if name in data:
            update[f"set__{name}"] = text(data[name], name, problems, max_length=limit)
    if "timezone" in data:
        update["set__timezone"] = _time_zone(data["timezone"], problems)
    if "locations" in data:
        update["set__locations"] = _rows(data["locations"], "locations", _location, problems)
    if "service_types" in data:
        update["set__service_types"] = _rows(data["service_types"], "service_types", _service_type, problems)
    problems.raise_if_any()
    save_org(org, **update)
    audit.record(
        actor,
        "practice_settings_changed",
        object_type="organization",
        object_id=org.id,
        details={"changed": sorted(k.removeprefix("set__") for k in update)},
    )
    return describe_practice()


def _time_zone(value, problems: Problems) -> str:
    name = text(value, "timezone", problems, required=True, max_length=60)
    # Only the IANA names themselves: ZoneInfo() would also open "America" (a folder), "posixrules" or
    # "zone.tab" and fail in ways a person cannot act on.
    if name and name not in available_timezones():
        problems.add("timezone", f"{name!r} is not a time zone; choose one such as America/New_York")
    return name


def derive_key(name: str, taken: set[str]) -> str:
    """A key from a name ("Harbor Street office" -> "harbor_street_office"), unique among `taken`."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:36] or "item"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def _rows(raw, field: str, build, problems: Problems) -> list:
    if not isinstance(raw, list) or len(raw) > MAX_ROWS:
        problems.add(field, f"must be a list of at most {MAX_ROWS}")
        return []
    given = [
        row.get("key") if isinstance(row, dict) and _KEY.match(str(row.get("key") or "")) else None
        for row in raw
    ]
    taken, out, names = {key for key in given if key}, [], set()
    if len(taken) != len([key for key in given if key]):
        problems.add(field, "lists a key twice")
    for i, row in enumerate(raw):
        if not isinstance(row, dict):
            problems.add(f"{field}.{i}", "must be an object")
            continue
        name = text(row.get("name"), f"{field}.{i}.name", problems, required=True, max_length=120)
        if name.lower() in names:
            problems.add(f"{field}.{i}.name", f"{name!r} is listed twice")
        names.add(name.lower())
        key = given[i] or derive_key(name, taken)
        taken.add(key)
        out.append(build(row, key, name, f"{field}.{i}", problems))
    return out


def _location(row: dict, key: str, name: str, where: str, problems: Problems) -> Location:
    return Location(
        key=key,
        name=name,
        address=text(row.get("address"), f"{where}.address", problems, max_length=300),
        telehealth=boolean(row.get("telehealth"), f"{where}.telehealth", problems),
    )


def _service_type(row: dict, key: str, name: str, where: str, problems: Problems) -> ServiceType:
    minutes = _whole(row.get("duration_minutes"), f"{where}.duration_minutes", 5, 480, problems)
    if "price_cents" in row and "price" not in row:
        cents = _whole(row.get("price_cents"), f"{where}.price_cents", 0, 10_000_000, problems)
    else:
        cents = money(row.get("price"), f"{where}.price", problems)
    return ServiceType(
        key=key,
        name=name,
        duration_minutes=minutes,
        price_cents=cents,
        telehealth=boolean(row.get("telehealth"), f"{where}.telehealth", problems),
    )


def _whole(value, where: str, low: int, high: int, problems: Problems) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.add(where, f"must be a whole number from {low} to {high}")
        return low
    return value


# --- the logo ------------------------------------------------------------------


def set_logo(actor: Actor, data: bytes, filename: str) -> dict:
    """Store a new logo (PNG, JPEG, GIF or WebP up to 1 MB) in the encrypted file store. Needs staff.manage.

    Raises Forbidden, TooLarge, UnsupportedMediaType, ValidationFailed (empty), StaleVersion.
    """
    actor.require(MANAGE)
    if len(data) > LOGO_MAX_BYTES:
        raise TooLarge("the logo is larger than 1 MB", details={"logo": ["larger than 1 MB"]})
    org = Organization.get()
    stored = files.store_file(data, filename=filename, purpose=LOGO_PURPOSE, allowed=LOGO_TYPES)
    try:
        save_org(org, set__logo_file_id=stored.id)
    except Exception:
        files.delete_file(stored.id)  # nothing half-saved: the practice keeps its old logo
        raise
    if org.logo_file_id:
        files.delete_file(org.logo_file_id)
    audit.record(actor, "practice_logo_changed", object_type="organization", object_id=org.id)
    return describe_practice()


def remove_logo(actor: Actor) -> dict:
    """Go back to the practice's name alone in the header. Needs staff.manage. Raises Forbidden, StaleVersion."""
    actor.require(MANAGE)
    org = Organization.get()
    if org.logo_file_id:
        save_org(org, set__logo_file_id=None)
        files.delete_file(org.logo_file_id)
        audit.record(actor, "practice_logo_removed", object_type="organization", object_id=org.id)
    return describe_practice()


def logo() -> tuple[bytes, str]:
    """The logo's bytes and type, for the header of every page (sign-in included) and for mails.

    The logo is the practice's public face, so anyone may read it. Raises NotFound when there is none.
    """
    org = Organization.get()
    if not org.logo_file_id:
        raise NotFound("the practice has no logo")
    data, stored = files.read_file(org.logo_file_id)
    if stored.purpose != LOGO_PURPOSE:  # only ever the logo, whatever id the document holds
        raise NotFound("the practice has no logo")
    return data, stored.content_type


# --- the first-run checklist ---------------------------------------------------


def checklist(actor: Actor) -> dict:
    """What is done and what is left of setting up the practice, each step with where to do it.

    Needs staff.manage. Returns {"steps": [{"step", "label", "done", "link", "hint"}], "done", "total"}.
    """
    actor.require(MANAGE)
    org = Organization.get()
    has_rules = AvailabilityRule.objects().limit(1).count(with_limit_and_skip=True) > 0
    colleagues = StaffMember.objects(disabled=False).limit(2).count(with_limit_and_skip=True) > 1
    steps = [
        (
            "name",
            "Name your practice",
            org.name.strip() not in ("", DEFAULT_NAME),
            "/admin/practice",
            "Clients see it in every mail and at the top of every page.",
        ),
        (
            "contact",
            "Add the practice's address and phone",
            bool(org.address and org.phone),
            "/admin/practice",
            "Shown to clients with their appointments and invoices.",
        ),
        (
            "logo",
            "Upload your logo",
            bool(org.logo_file_id),
            "/admin/practice#logo",
            "Optional: the portal and mails show it beside your name.",
        ),
        (
            "locations",
            "Add your locations",
            bool(org.locations),
            "/admin/practice#locations",
            "An office, or telehealth: where appointments happen.",
        ),
        (
            "services",
            "Add the services you offer",
            bool(org.service_types),
            "/admin/practice#services",
            "With their length and price: clients book them and invoices list them.",
        ),
        (
            "policy",
            "Write your cancellation policy",
            bool(org.cancellation_policy),
            "/admin/practice#policy",
            "Clients read it when they book.",
        ),
        (
            "packet",
            "Review the intake packet",
            bool(org.portal.intake_packet),
            "/studio/packet",
            "The forms a new client is invited to fill in.",
        ),
        (
            "team",
            "Add your team",
            colleagues,
            "/admin/staff",
            "Therapists and front desk, each with a login.",
        ),
        (
            "availability",
            "Set when therapists can be booked",
            has_rules,
            "/staff/appointments",
            "Each therapist's weekly hours, per location and service.",
        ),
    ]
    rows = [
        {"step": key, "label": label, "done": done, "link": link, "hint": hint}
        for key, label, done, link, hint in steps
    ]
    return {"steps": rows, "done": sum(r["done"] for r in rows), "total": len(rows)}
