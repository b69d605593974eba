"""Staff availability and the open slots computed from it.

A staff member's weekly rules (weekday, local start–end, location, service
types) minus dated `unavailable` exceptions, plus `available` ones, cut into
slots of the service type's duration, minus the 5-minute blocks already held
by appointments. Times in rules are wall-clock times in the organization's
time zone; slots come out in UTC.

Service types a rule does not name default to the staff member's preferences
(StaffPreferences.service_types; empty = every service type). The preferences also bound every
rule: a member who chose service types or locations is offered (slots, bookings) only in them,
whatever an older rule says, so a therapist's own choice takes effect without editing their rules.

Domain errors: Forbidden (editing someone else's calendar without
calendar.manage), NotFound, ValidationFailed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from engine.authz import Actor, parse_id
from engine.errors import NotFound, ValidationFailed
from engine.models import utcnow
from engine.models.accounts import StaffMember
from engine.models.organization import Organization, ServiceType
from engine.models.scheduling import (
    BLOCK_MINUTES,
    AvailabilityException,
    AvailabilityRule,
    SlotClaim,
)
from engine.services._fields import Problems, text
from engine.services.platform import audit
from engine.services.practice.settings import org_zone

MAX_RANGE_DAYS = 62
BLOCK = timedelta(minutes=BLOCK_MINUTES)


def service_type(org: Organization, key: str) -> ServiceType:
    for st in org.service_types:
        if st.key == key:
            return st
    raise ValidationFailed("unknown service type", details={"service_type": [f"unknown: {key}"]})


def check_location(org: Organization, key: str) -> None:
    if key not in {loc.key for loc in org.locations}:
        raise ValidationFailed("unknown location", details={"location": [f"unknown: {key}"]})


def blocks(start: datetime, end: datetime) -> list[datetime]:
    """The 5-minute blocks (UTC, aligned) that [start, end) touches, ascending."""
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    first = epoch + ((start - epoch) // BLOCK) * BLOCK
    out = []
    while first < end:
        out.append(first)
        first += BLOCK
    return out


def staff_for_calendar(actor: Actor, staff_id) -> StaffMember:
    """The staff member whose calendar `actor` edits: themselves, or anyone with calendar.manage."""
    if not actor.is_staff or str(actor.login.id) != str(staff_id):
        actor.require("calendar.manage")
    member = StaffMember.objects(id=parse_id(staff_id), disabled=False).first()
    if member is None:
        raise NotFound("no such staff member")
    return member


def a_date(value, name: str, problems: Problems) -> date | None:
    """A calendar date (past or future) from a date or `YYYY-MM-DD`; empty -> None."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        problems.add(name, "must be a date like 2027-04-30")
        return None


def _hhmm(value, name: str, problems: Problems) -> str:
    raw = text(value, name, problems, required=True, max_length=5)
    try:
        time.fromisoformat(raw)
    except ValueError:
        problems.add(name, "must be HH:MM")
    return raw


def add_rule(actor: Actor, staff_id, data: dict) -> dict:
    """Add a weekly rule. Raises Forbidden, NotFound, ValidationFailed."""
    member = staff_for_calendar(actor, staff_id)
    org = Organization.get()
    problems = Problems()
    location = text(data.get("location"), "location", problems, required=True, max_length=40)
    weekday = data.get("weekday")
    if not isinstance(weekday, int) or not 0 <= weekday <= 6:
        problems.add("weekday", "must be 0 (Monday) to 6 (Sunday)")
    start, end = _hhmm(data.get("start"), "start", problems), _hhmm(data.get("end"), "end", problems)
    types = data.get("service_types") or []
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        problems.add("service_types", "must be a list of service type keys")
        types = []
    valid_from = a_date(data.get("valid_from"), "valid_from", problems)
    valid_until = a_date(data.get("valid_until"), "valid_until", problems)
    problems.raise_if_any()
    if start >= end:
        problems.add("end", "must be after start")
    for key in types:
        if key not in {st.key for st in org.service_types}:
            problems.add("service_types", f"unknown: {key}")
    if location not in {loc.key for loc in org.locations}:
        problems.add("location", f"unknown: {location}")
    problems.raise_if_any()
    rule = AvailabilityRule(
        staff=member.id,
        location=location,
        weekday=weekday,
        start=start,
        end=end,
        service_types=types,
        valid_from=valid_from,
        valid_until=valid_until,
    ).save()
    audit.record(actor, "availability_rule_added", object_type="availability_rule", object_id=rule.id)
    return rule_dict(rule)


def add_exception(actor: Actor, staff_id, data: dict) -> dict:
    """Add a dated exception (time off, or extra hours). Raises Forbidden, NotFound, ValidationFailed."""
    member = staff_for_calendar(actor, staff_id)
    problems = Problems()
    on = a_date(data.get("date"), "date", problems)
    kind = data.get("kind", "unavailable")
    if kind not in ("unavailable", "available"):
        problems.add("kind", "must be unavailable or available")
    start = _hhmm(data["start"], "start", problems) if data.get("start") else None
    end = _hhmm(data["end"], "end", problems) if data.get("end") else None
    if on is None:
        problems.add("date", "is required")
    if (start is None) != (end is None) or (kind == "available" and start is None):
        problems.add("start", "give both start and end (only a whole day off may omit them)")
    location = text(data.get("location"), "location", problems, max_length=40)
    if kind == "available" and not location:
        problems.add("location", "is required for extra hours")
    problems.raise_if_any()
    exc = AvailabilityException(
        staff=member.id,
        date=on,
        kind=kind,
        start=start,
        end=end,
        location=location,
        service_types=list(data.get("service_types") or []),
        note=str(data.get("note") or "")[:200],
    ).save()
    audit.record(
        actor, "availability_exception_added", object_type="availability_exception", object_id=exc.id
    )
    return exception_dict(exc)


def delete_rule(actor: Actor, rule_id) -> None:
    rule = AvailabilityRule.objects(id=parse_id(rule_id)).first()
    if rule is None:
        raise NotFound("no such availability rule")
    staff_for_calendar(actor, rule.staff)
    rule.delete()
    audit.record(actor, "availability_rule_deleted", object_type="availability_rule", object_id=rule_id)


def _offers(member: StaffMember, types: list[str], key: str) -> bool:
    chosen = types or list((member.preferences.service_types if member.preferences else None) or [])
    return not chosen or key in chosen


def offered_by(member: StaffMember, *, location: str, service_type_key: str) -> bool:
    """Whether the member's own preferences allow this service type at this location (an empty
    choice means every one)."""
    prefs = member.preferences
    types = list(prefs.service_types or []) if prefs else []
    places = list(prefs.locations or []) if prefs else []
    return (not types or service_type_key in types) and (not places or location in places)


def check_offered(member: StaffMember, *, location: str, st: ServiceType, org: Organization) -> None:
    """Refuse a service type or location the member does not offer, naming both in words.
    Raises ValidationFailed {"service_type" or "location": [...]}."""
    prefs = member.preferences
    types = list(prefs.service_types or []) if prefs else []
    places = list(prefs.locations or []) if prefs else []
    place = next((loc.name for loc in org.locations if loc.key == location), location)
    if types and st.key not in types:
        raise ValidationFailed(
            f"{member.display_name} does not offer {st.name}",
            details={"service_type": [f"{member.display_name} does not offer {st.name}"]},
        )
    if places and location not in places:
        raise ValidationFailed(
            f"{member.display_name} does not see clients at {place}",
            details={"location": [f"{member.display_name} does not see clients at {place}"]},
        )


def _windows(member, rules, exceptions, on: date, location: str, key: str) -> list[tuple[time, time]]:
    if not offered_by(member, location=location, service_type_key=key):
        return []
    wins = [
        (time.fromisoformat(r.start), time.fromisoformat(r.end))
        for r in rules
        if r.weekday == on.weekday()
        and r.location == location
        and _offers(member, r.service_types, key)
        and (r.valid_from is None or r.valid_from <= on)
        and (r.valid_until is None or on <= r.valid_until)
    ]
    for e in exceptions:
        if e.date != on:
            continue
        if e.kind == "available" and e.location == location and _offers(member, e.service_types, key):
            wins.append((time.fromisoformat(e.start), time.fromisoformat(e.end)))
        elif e.kind == "unavailable":
            if e.start is None:
                return []
            off_start, off_end = time.fromisoformat(e.start), time.fromisoformat(e.end)
            cut = []
            for s, t in wins:
                if off_end <= s or t <= off_start:
                    cut.append((s, t))
                    continue
                if s < off_start:
                    cut.append((s, off_start))
                if off_end < t:
                    cut.append((off_end, t))
            wins = cut
    return sorted(wins)


def open_slots(
    *,
    location: str,
    service_type_key: str,
    date_from: date,
    date_to: date,
    staff_id=None,
    now: datetime | None = None,
    ignore=None,
) -> list[dict]:
    """Open slots in [date_from, date_to] (local dates), soonest first. Raises ValidationFailed.

    `ignore`: an appointment whose own time counts as free (moving it by a few minutes).
    """
    org = Organization.get()
    check_location(org, location)
    st = service_type(org, service_type_key)
    if st.telehealth and not next(loc for loc in org.locations if loc.key == location).telehealth:
        raise ValidationFailed(
            "this service is offered by video",
            details={"location": [f"{st.name} is offered by video: choose a telehealth location"]},
        )
    if date_to < date_from or (date_to - date_from).days > MAX_RANGE_DAYS:
        raise ValidationFailed(
            "the date range is invalid",
            details={"to": [f"must be on or after from, at most {MAX_RANGE_DAYS} days"]},
        )
    zone, now = org_zone(org), now or utcnow()
    length = timedelta(minutes=st.duration_minutes)
    query = {"location": location} if staff_id is None else {"staff": parse_id(staff_id)}
    rules = list(AvailabilityRule.objects(**query))
    staff_ids = {r.staff for r in rules} | ({parse_id(staff_id)} if staff_id else set())
    members = {m.id: m for m in StaffMember.objects(id__in=list(staff_ids), disabled=False)}
    exceptions = list(
        AvailabilityException.objects(staff__in=list(members), date__gte=date_from, date__lte=date_to)
    )
    range_start = datetime.combine(date_from, time(0), zone).astimezone(UTC)
    range_end = datetime.combine(date_to + timedelta(days=1), time(0), zone).astimezone(UTC)
    held = {
        (c.staff, c.block_start.astimezone(UTC))
        for c in SlotClaim.objects(
            staff__in=list(members), block_start__gte=range_start - length, block_start__lt=range_end
        )
        if ignore is None or c.appointment != ignore
    }
    slots = []
    for member in members.values():
        mine_rules = [r for r in rules if r.staff == member.id]
        mine_exc = [e for e in exceptions if e.staff == member.id]
        on = date_from
        while on <= date_to:
            for w_start, w_end in _windows(member, mine_rules, mine_exc, on, location, st.key):
                start = datetime.combine(on, w_start, zone)
                limit = datetime.combine(on, w_end, zone)
                while start + length <= limit:
                    s_utc, e_utc = start.astimezone(UTC), (start + length).astimezone(UTC)
                    if s_utc > now and not any((member.id, b) in held for b in blocks(s_utc, e_utc)):
                        slots.append(
                            {
                                "staff_id": str(member.id),
                                "staff_name": member.display_name,
                                "location": location,
                                "service_type": st.key,
                                "start": s_utc.isoformat(),
                                "end": e_utc.isoformat(),
                            }
                        )
                    start += length
            on += timedelta(days=1)
    return sorted(slots, key=lambda s: (s["start"], s["staff_name"]))


def is_open(*, staff_id, location: str, service_type_key: str, start: datetime, ignore=None) -> bool:
    """Whether `start` is one of the open slots of that staff member, location and service type."""
    local_day = start.astimezone(org_zone()).date()
    wanted = start.astimezone(UTC).isoformat()
    return any(
        s["start"] == wanted
        for s in open_slots(
            location=location,
            service_type_key=service_type_key,
            date_from=local_day,
            date_to=local_day,
            staff_id=staff_id,
            ignore=ignore,
        )
    )


def list_availability(actor: Actor, staff_id) -> dict:
    """A staff member's weekly rules and upcoming exceptions (their own, or anyone's with calendar.manage)."""
    member = staff_for_calendar(actor, staff_id)
    today = utcnow().astimezone(org_zone()).date()
    rules = AvailabilityRule.objects(staff=member.id).order_by("weekday", "start")
    exceptions = AvailabilityException.objects(staff=member.id, date__gte=today).order_by("date")
    return {
        "staff_id": str(member.id),
        "staff_name": member.display_name,
        "rules": [rule_dict(r) for r in rules],
        "exceptions": [exception_dict(e) for e in exceptions],
    }


def rule_dict(r: AvailabilityRule) -> dict:
    return {
        "id": str(r.id),
        "staff_id": str(r.staff),
        "location": r.location,
        "weekday": r.weekday,
        "start": r.start,
        "end": r.end,
        "service_types": list(r.service_types),
        "valid_from": r.valid_from.isoformat() if r.valid_from else None,
        "valid_until": r.valid_until.isoformat() if r.valid_until else None,
    }


def exception_dict(e: AvailabilityException) -> dict:
    return {
        "id": str(e.id),
        "staff_id": str(e.staff),
        "date": e.date.isoformat(),
        "kind": e.kind,
        "start": e.start,
        "end": e.end,
        "location": e.location,
        "service_types": list(e.service_types),
        "note": e.note,
    }
