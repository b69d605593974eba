"""Appointments: book or request a slot, cancel, reschedule, list, remind.

No double booking: an appointment holds one SlotClaim row per 5-minute block
it covers, and (staff, block start) is unique in the database. Claims are
inserted in ascending time order before the appointment counts, so of two
bookers racing for overlapping time the one that wins the earliest shared
block wins; the other removes what it inserted and gets Conflict (409).

Portal accounts need the link's `appointments` permission, may only take open
slots, and change an appointment inside the organization's cancellation window
only as PortalSettings.late_cancellation says: `refuse` (Conflict) or `flag`
(allowed, marked late). Staff book for themselves, or for anyone with
calendar.manage, inside or outside availability.

Domain errors: NotAuthenticated, NotFound, Forbidden, ValidationFailed, Conflict.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

from engine import config, persistence
from engine.authz import SYSTEM, Actor, get_client_for, parse_id, portal_profiles
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.models import utcnow
from engine.models.accounts import StaffMember
from engine.models.clients import Client
from engine.models.organization import Organization
from engine.models.scheduling import HOLDS_SLOT, Appointment, SlotClaim
from engine.services.appointments import ical
from engine.services.appointments.availability import (
    blocks,
    check_location,
    check_offered,
    is_open,
    service_type,
)
from engine.services.integrations import webhooks
from engine.services.messaging import notices, staff_notices
from engine.services.platform import audit

REMINDER_BEFORE = timedelta(hours=24)


def _need(actor: Actor) -> str | None:
    return "appointments" if actor.is_portal else None


def parse_start(value) -> datetime:
    """An aware datetime from ISO-8601 text (an offset is required). Raises ValidationFailed."""
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value or "").replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed("bad start", details={"start": ["must be an ISO-8601 time"]}) from None
    if parsed.tzinfo is None:
        raise ValidationFailed("bad start", details={"start": ["must include a UTC offset"]})
    return parsed.astimezone(UTC).replace(microsecond=0)


def get_appointment_for(actor: Actor, appointment_id, *, write: bool = False) -> tuple[Appointment, Client]:
    """Load an appointment whose client the actor may see (portal: with `appointments`).

    Staff change only their own calendar unless they hold calendar.manage (`write`).
    Raises NotFound, Forbidden.
    """
    appt = Appointment.objects(id=parse_id(appointment_id)).first()
    if appt is None:
        raise NotFound("no such appointment")
    if actor.is_staff and appt.staff == actor.login.id:
        return appt, Client.objects(id=appt.client).first()  # your own calendar, whoever the client
    client = get_client_for(actor, appt.client, need=_need(actor))
    if write and actor.is_staff:
        actor.require("calendar.manage")
    return appt, client


def appointment_dict(appt: Appointment, staff_names: dict | None = None) -> dict:
    names = staff_names or {}
    return {
        "id": str(appt.id),
        "client_id": str(appt.client),
        "staff_id": str(appt.staff),
        "staff_name": names.get(appt.staff, ""),
        "location": appt.location,
        "service_type": appt.service_type,
        "start": appt.start.astimezone(UTC).isoformat(),
        "end": appt.end.astimezone(UTC).isoformat(),
        "status": appt.status,
        "telehealth_url": appt.telehealth_url,
        "late_cancellation": appt.late_cancellation,
        "cancelled_at": appt.cancelled_at.isoformat() if appt.cancelled_at else None,
        "cancel_reason": appt.cancel_reason,
        "reschedule_count": appt.reschedule_count,
        "sequence": appt.sequence,
    }


def _staff_names(appts) -> dict:
    return {m.id: m.display_name for m in StaffMember.objects(id__in=list({a.staff for a in appts}))}


def _claim(staff_id, appointment_id, wanted: list[datetime]) -> None:
    """Insert claims for `wanted` blocks; all or none. Raises Conflict when any is held."""
    if not wanted:
        return
    docs = [{"staff": staff_id, "block_start": b, "appointment": appointment_id} for b in sorted(wanted)]
    try:
        persistence.collection(SlotClaim).insert_many(docs, ordered=True)
    except (BulkWriteError, DuplicateKeyError):
        persistence.collection(SlotClaim).delete_many(
            {"appointment": appointment_id, "block_start": {"$in": wanted}}
        )
        raise Conflict("that time was just taken; pick another slot", code="slot_taken") from None


def _release(appointment_id, only: list[datetime] | None = None) -> None:
    query: dict = {"appointment": appointment_id}
    if only is not None:
        query["block_start"] = {"$in": only}
    persistence.collection(SlotClaim).delete_many(query)


def book(
    actor: Actor,
    *,
    client_id,
    staff_id,
    location: str,
    service_type_key: str,
    start,
    request: bool = False,
    telehealth_url: str = "",
) -> dict:
    """Book (or, with `request`, ask for) an appointment. Raises Conflict (slot_taken, slot_not_open)."""
    client = get_client_for(actor, client_id, need=_need(actor))
    org = Organization.get()
    check_location(org, location)
    st = service_type(org, service_type_key)
    staff = (
        StaffMember.objects(id=staff_id, disabled=False).first() if ObjectId.is_valid(str(staff_id)) else None
    )
    if staff is None:
        raise ValidationFailed("unknown staff member", details={"staff_id": ["unknown"]})
    begin = parse_start(start)
    end = begin + timedelta(minutes=st.duration_minutes)
    if actor.is_staff and staff.id != actor.login.id:
        actor.require("calendar.manage")
    # The therapist's own choice of service types and locations binds staff bookings too.
    check_offered(staff, location=location, st=st, org=org)
    if begin <= utcnow():
        raise ValidationFailed("that time has passed", details={"start": ["must be in the future"]})
    if actor.is_portal:
        telehealth_url = ""  # the practice sets the link
        if not is_open(staff_id=staff.id, location=location, service_type_key=st.key, start=begin):
            raise Conflict("that slot is not open", code="slot_not_open")
    appt = Appointment(
        id=ObjectId(),
        client=client.id,
        staff=staff.id,
        location=location,
        service_type=st.key,
        start=begin,
        end=end,
        status="requested" if request else "booked",
        telehealth_url=_url(telehealth_url),
        booked_by_kind=actor.kind,
        booked_by_id=actor.id,
        reminder_due_at=begin - REMINDER_BEFORE,
    )
    _claim(staff.id, appt.id, blocks(begin, end))
    try:
        appt.save(force_insert=True)
    except Exception:
        _release(appt.id)
        raise
    audit.record(
        actor,
        "appointment_requested" if request else "appointment_booked",
        client=client,
        object_type="appointment",
        object_id=appt.id,
        details={"start": begin.isoformat()},
    )
    _notify(appt, client, actor, "booked")
    if not request:
        webhooks.emit("appointment.booked", key=str(appt.id), client_id=client.id, appointment_id=appt.id)
    return appointment_dict(appt, {staff.id: staff.display_name})


def _url(value: str) -> str:
    value = (value or "").strip()
    if value and not value.startswith("https://"):
        raise ValidationFailed("bad link", details={"telehealth_url": ["must start with https://"]})
    return value[:500]


def _late(appt: Appointment, now: datetime) -> bool:
    window = timedelta(hours=Organization.get().portal.cancellation_window_hours)
    return appt.start.astimezone(UTC) - now < window


def _policy(actor: Actor, appt: Appointment, now: datetime) -> bool:
    """Whether this change is late; raises Conflict when the practice refuses late changes."""
    if not actor.is_portal:
        return False  # the practice itself is never "late"
    if appt.start.astimezone(UTC) <= now:
        raise Conflict("this appointment has already started", code="appointment_started")
    if not _late(appt, now):
        return False
    portal = Organization.get().portal
    if portal.late_cancellation == "refuse":
        raise Conflict(
            f"changes within {portal.cancellation_window_hours} hours of the appointment must be "
            "made by calling the practice",
            code="late_cancellation_refused",
        )
    return True


def cancel(actor: Actor, appointment_id, *, reason: str = "", now: datetime | None = None) -> dict:
    """Cancel an appointment and open its slot again. Raises Conflict (late, or already cancelled)."""
    appt, client = get_appointment_for(actor, appointment_id, write=True)
    now = now or utcnow()
    if appt.status not in HOLDS_SLOT:
        raise Conflict("this appointment is not active", code="not_active")
    late = _policy(actor, appt, now)
    doc = persistence.collection(Appointment).find_one_and_update(
        {"_id": appt.id, "status": {"$in": list(HOLDS_SLOT)}, "sequence": appt.sequence},
        {
            "$set": {
                "status": "cancelled",
                "cancelled_at": now,
                "cancelled_by_kind": actor.kind,
                "cancel_reason": (reason or "")[:500],
                "late_cancellation": late,
            },
            "$unset": {"reminder_due_at": ""},
            "$inc": {"sequence": 1},
        },
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        raise Conflict("the appointment changed meanwhile; reload and try again", code="stale_version")
    _release(appt.id)
    appt = persistence.document(Appointment, doc)
    audit.record(
        actor,
        "appointment_cancelled",
        client=appt.client,
        object_type="appointment",
        object_id=appt.id,
        details={"late": late},
    )
    _notify(appt, client, actor, "cancelled")
    webhooks.emit("appointment.cancelled", key=str(appt.id), client_id=appt.client, appointment_id=appt.id)
    return appointment_dict(appt, _staff_names([appt]))


def reschedule(actor: Actor, appointment_id, *, start, staff_id=None, now: datetime | None = None) -> dict:
    """Move an appointment to another open slot (same service type). Raises Conflict like book and cancel."""
    appt, client = get_appointment_for(actor, appointment_id, write=True)
    now = now or utcnow()
    if appt.status not in HOLDS_SLOT:
        raise Conflict("this appointment is not active", code="not_active")
    late = _policy(actor, appt, now)
    new_staff = parse_id(staff_id) if staff_id else appt.staff
    if actor.is_staff and new_staff != actor.login.id:
        actor.require("calendar.manage")
    if new_staff != appt.staff:
        member = StaffMember.objects(id=new_staff, disabled=False).first()
        if member is None:
            raise ValidationFailed("unknown staff member", details={"staff_id": ["unknown"]})
        org = Organization.get()
        check_offered(member, location=appt.location, st=service_type(org, appt.service_type), org=org)
    begin = parse_start(start)
    end = begin + (appt.end - appt.start)
    if begin <= now:
        raise ValidationFailed("that time has passed", details={"start": ["must be in the future"]})
    if actor.is_portal and not is_open(
        staff_id=new_staff,
        location=appt.location,
        service_type_key=appt.service_type,
        start=begin,
        ignore=appt.id,
    ):
        raise Conflict("that slot is not open", code="slot_not_open")
    old = (
        set(blocks(appt.start.astimezone(UTC), appt.end.astimezone(UTC)))
        if new_staff == appt.staff
        else set()
    )
    new = [b for b in blocks(begin, end) if b not in old]
    _claim(new_staff, appt.id, new)
    doc = persistence.collection(Appointment).find_one_and_update(
        {"_id": appt.id, "status": {"$in": list(HOLDS_SLOT)}, "sequence": appt.sequence},
        {
            "$set": {
                "start": begin,
                "end": end,
                "staff": new_staff,
                "reminder_due_at": begin - REMINDER_BEFORE,
                "late_cancellation": appt.late_cancellation or late,
            },
            "$unset": {"reminder_sent_at": ""},
            "$inc": {"sequence": 1, "reschedule_count": 1},
        },
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        _release(appt.id, new)
        raise Conflict("the appointment changed meanwhile; reload and try again", code="stale_version")
    # Drop the old blocks the new time does not cover (or all of them after a staff change).
    # Two deletes rather than one top-level `$or` (see engine.persistence).
    for gone in ({"staff": {"$ne": new_staff}}, {"block_start": {"$nin": blocks(begin, end)}}):
        persistence.collection(SlotClaim).delete_many({"appointment": appt.id, **gone})
    appt = persistence.document(Appointment, doc)
    audit.record(
        actor,
        "appointment_rescheduled",
        client=appt.client,
        object_type="appointment",
        object_id=appt.id,
        details={"start": begin.isoformat(), "late": late},
    )
    _notify(appt, client, actor, "rescheduled")
    webhooks.emit(
        "appointment.rescheduled",
        key=f"{appt.id}:{begin.isoformat()}",
        client_id=appt.client,
        appointment_id=appt.id,
    )
    return appointment_dict(appt, _staff_names([appt]))


def update(
    actor: Actor, appointment_id, *, status: str | None = None, telehealth_url: str | None = None
) -> dict:
    """Staff: confirm a request (booked), record completed / no_show, set the telehealth link."""
    if not actor.is_staff:
        raise NotFound("no such appointment")
    appt, _client = get_appointment_for(actor, appointment_id, write=True)
    changes: dict = {}
    if telehealth_url is not None:
        changes["telehealth_url"] = _url(telehealth_url)
    if status is not None:
        allowed = {"requested": {"booked"}, "booked": {"completed", "no_show"}}.get(appt.status, set())
        if status not in allowed:
            raise Conflict(f"cannot change a {appt.status} appointment to {status}", code="bad_transition")
        changes["status"] = status
    if not changes:
        return appointment_dict(appt, _staff_names([appt]))
    doc = persistence.collection(Appointment).find_one_and_update(
        {"_id": appt.id, "sequence": appt.sequence},
        {"$set": changes, "$inc": {"sequence": 1}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        raise Conflict("the appointment changed meanwhile; reload and try again", code="stale_version")
    if changes.get("status") in ("completed", "no_show"):
        _release(appt.id)  # the past needs no claims; keeps the index small
    appt = persistence.document(Appointment, doc)
    audit.record(
        actor,
        "appointment_updated",
        client=appt.client,
        object_type="appointment",
        object_id=appt.id,
        details={k: v for k, v in changes.items() if k != "telehealth_url"},
    )
    return appointment_dict(appt, _staff_names([appt]))


def list_appointments(
    actor: Actor,
    *,
    client_id=None,
    staff_id=None,
    upcoming: bool = True,
    include_cancelled: bool = False,
    start_from: datetime | None = None,
    start_to: datetime | None = None,
    limit: int = 200,
) -> list[dict]:
    """Appointments the actor may see: a client's (guarded), a staff calendar, or every profile of a portal user.

    `start_from`/`start_to` bound the start times (a calendar's visible range).
    """
    query: dict = {}
    if client_id:
        client = get_client_for(actor, client_id, need=_need(actor))
        query["client"] = client.id
        audit.record(actor, "appointments_viewed", client=client, object_type="client", object_id=client.id)
    elif actor.is_portal:
        ids = [p["client"].id for p in portal_profiles(actor.account) if p["permissions"].get("appointments")]
        query["client__in"] = ids
        audit.record(
            actor,
            "appointments_viewed",
            object_type="portal_account",
            object_id=actor.id,
            details={"clients": [str(i) for i in ids]},
        )
    elif actor.is_staff:
        target = parse_id(staff_id) if staff_id else actor.login.id
        if target != actor.login.id:
            actor.require("calendar.manage")
        query["staff"] = target
        audit.record(actor, "calendar_viewed", object_type="staff", object_id=target)
    else:
        raise NotFound("nothing to list")
    if upcoming:
        query["end__gte"] = utcnow()
    if start_from is not None:
        query["start__gte"] = start_from
    if start_to is not None:
        query["start__lt"] = start_to
    if not include_cancelled:
        query["status__ne"] = "cancelled"
    appts = list(Appointment.objects(**query).order_by("start").limit(min(max(limit, 1), 500)))
    names = _staff_names(appts)
    return [appointment_dict(a, names) for a in appts]


def _notify(appt: Appointment, client: Client | None, actor: Actor, what: str) -> None:
    """Tell the other side: staff hear of portal changes, the client's portal users of staff changes."""
    key = f"appointment:{appt.id}:{appt.sequence}:{what}"
    if actor.is_portal:
        member = StaffMember.objects(id=appt.staff).first()
        if what == "booked":  # a booking or a booking request: new work, told as the member chose
            staff_notices.tell(member, "booking", f"{key}:staff", path=f"/staff/appointments?focus={appt.id}")
        elif member is not None:
            notices.notify(
                member,
                headline=f"A client {what} an appointment",
                path=f"/staff/appointments?focus={appt.id}",
                key=f"{key}:staff",
            )
        return
    for account in appointment_participants(client):
        notices.notify(
            account,
            headline=f"An appointment was {what}",
            path="/portal/appointments",
            key=f"{key}:{account.id}",
        )


def appointment_participants(client: Client | None) -> list:
    """Portal accounts that manage a client's appointments (the client, contacts with `appointments`)."""
    return notices.portal_accounts_with(client, "appointments")


def send_due_reminders(*, now: datetime | None = None, batch: int = 200) -> int:
    """Mail a reminder for each booked appointment whose reminder time has come; returns how many.

    Each appointment is claimed by a guarded update (unsetting reminder_due_at), so any number
    of workers may sweep at once and each reminder goes out once. Candidates come from the
    reminder_due_at index first, then each is claimed by its _id: no findAndModify (engine.persistence).
    """
    now = now or utcnow()
    coll = persistence.collection(Appointment)
    due = {"reminder_due_at": {"$lte": now}, "status": "booked", "start": {"$gt": now}}
    sent = 0
    for candidate in list(coll.find(due, {"_id": 1}).limit(batch)):
        doc = persistence.update_then_read(
            coll,
            {"_id": candidate["_id"], **due},
            {"$unset": {"reminder_due_at": ""}, "$set": {"reminder_sent_at": now}},
        )
        if doc is None:
            continue  # another worker took it, or it is no longer booked or ahead
        appt = persistence.document(Appointment, doc)
        client = Client.objects(id=appt.client).first()
        for account in appointment_participants(client):
            notices.notify(
                account,
                headline="Reminder: you have an upcoming appointment",
                path="/portal/appointments",
                key=f"appointment:{appt.id}:{appt.start.isoformat()}:reminder:{account.id}",
            )
        audit.record(
            SYSTEM,
            "appointment_reminder_sent",
            client=appt.client,
            object_type="appointment",
            object_id=appt.id,
        )
        sent += 1
    return sent


def get_appointment(actor: Actor, appointment_id) -> dict:
    """One appointment the actor may see. Raises NotFound."""
    appt, _client = get_appointment_for(actor, appointment_id)
    audit.record(
        actor, "appointment_viewed", client=appt.client, object_type="appointment", object_id=appt.id
    )
    return appointment_dict(appt, _staff_names([appt]))


def calendar_ics(actor: Actor, *, appointment_id=None, **list_args) -> str:
    """iCalendar text: one appointment, or the actor's list (as list_appointments would give it)."""
    org = Organization.get()
    items = (
        [get_appointment(actor, appointment_id)] if appointment_id else list_appointments(actor, **list_args)
    )
    names = {loc.key: loc.name for loc in org.locations}
    for item in items:
        item["location_name"] = names.get(item["location"], item["location"])
    host = config.current().base_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "portico"
    return ical.calendar(items, practice=org.name, host=host)
