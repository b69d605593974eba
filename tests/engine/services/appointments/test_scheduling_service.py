"""Appointments: open slots, no double booking, the cancellation policy window, reminders, iCalendar."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from engine.authz import portal_actor
from engine.errors import Conflict, NotFound
from engine.models.organization import Organization
from engine.models.scheduling import SlotClaim
from engine.services.appointments import availability, ical, scheduling
from engine.services.practice.settings import org_zone
from tests.helpers import make_client, make_portal_account


def _slots(day_offset=3, **kw):
    on = date.today() + timedelta(days=day_offset)
    return availability.open_slots(
        location="main", service_type_key="individual", date_from=on, date_to=on, **kw
    )


def _book(actor, client_id, slot, **kw):
    return scheduling.book(
        actor,
        client_id=client_id,
        staff_id=slot["staff_id"],
        location="main",
        service_type_key="individual",
        start=slot["start"],
        **kw,
    )


def test_open_slots_follow_rules_and_time_zone(practice):
    """Are a 09:00–12:00 window's slots 09:00, 09:50 and 10:40 New York time?"""
    slots = _slots()
    local = [datetime.fromisoformat(s["start"]).astimezone(org_zone()).strftime("%H:%M") for s in slots]
    assert local == ["09:00", "09:50", "10:40"]


def test_exception_removes_time_off(practice):
    """Does an hour off in the morning cut the window, leaving only the slot that fits after it?"""
    on = date.today() + timedelta(days=3)
    availability.add_exception(
        practice["staff"],
        practice["therapist"].id,
        {"date": on.isoformat(), "start": "09:30", "end": "10:30"},
    )
    local = [datetime.fromisoformat(s["start"]).astimezone(org_zone()).strftime("%H:%M") for s in _slots()]
    assert local == ["10:30"]


def test_two_clients_booking_the_same_slot_at_once_one_wins_one_conflicts(practice):
    """Of two clients booking the same slot at the same moment, does one succeed and the other get 409?"""
    other = make_client(first_name="Otto")
    actors = [
        (practice["client"], practice["minor"].id),
        (portal_actor(make_portal_account(client=other)), other.id),
    ]
    slot = _slots()[0]
    barrier = threading.Barrier(2)
    outcomes: list = [None, None]

    def attempt(i):
        actor, client_id = actors[i]
        barrier.wait()
        try:
            outcomes[i] = _book(actor, client_id, slot)["status"]
        except Conflict as exc:
            outcomes[i] = (exc.status, exc.code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # The loser sees 409 either from the slot check (the winner was already done) or, when both
    # passed that check together, from the unique index on the claimed blocks.
    assert sorted(map(str, outcomes)) in (
        ["(409, 'slot_not_open')", "booked"],
        ["(409, 'slot_taken')", "booked"],
    )
    assert slot["start"] not in [s["start"] for s in _slots()]
    assert SlotClaim.objects.count() == 10  # 50 minutes = ten 5-minute blocks, one holder


def test_racing_bookers_past_every_check_leave_exactly_one_holder(practice):
    """When six bookings race for one slot with nothing but the database to stop them, does exactly one win?"""
    from engine.authz import staff_actor
    from tests.helpers import make_staff

    desk = [
        staff_actor(make_staff(roles=("front_desk",))) for _ in range(6)
    ]  # calendar.manage: no slot check
    slot = _slots()[0]
    barrier = threading.Barrier(len(desk))
    outcomes: list = []

    def attempt(actor):
        barrier.wait()
        try:
            outcomes.append(_book(actor, practice["minor"].id, slot)["status"])
        except Conflict as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(a,)) for a in desk]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["booked"] + ["slot_taken"] * 5
    assert SlotClaim.objects.count() == 10


def test_staff_cannot_overlap_an_existing_booking(practice):
    """Is a staff booking overlapping another appointment by 20 minutes refused?"""
    slot = _slots()[0]
    _book(practice["guardian"], practice["minor"].id, slot)
    later = (datetime.fromisoformat(slot["start"]) + timedelta(minutes=30)).isoformat()
    with pytest.raises(Conflict):
        _book(practice["staff"], practice["minor"].id, dict(slot, start=later))


def test_contact_without_appointments_permission_cannot_book(practice):
    """Does a contact whose link lacks `appointments` get NotFound?"""
    with pytest.raises(NotFound):
        _book(practice["aunt"], practice["minor"].id, _slots()[0])


def test_portal_cannot_book_outside_open_slots(practice):
    """Is a portal booking at a time with no availability refused?"""
    slot = _slots()[0]
    odd = (datetime.fromisoformat(slot["start"]) + timedelta(hours=5)).isoformat()
    with pytest.raises(Conflict) as err:
        _book(practice["guardian"], practice["minor"].id, dict(slot, start=odd))
    assert err.value.code == "slot_not_open"


@pytest.mark.parametrize("policy", ["refuse", "flag"])
def test_cancelling_inside_the_window_is_refused_or_flagged(practice, policy):
    """Inside the 24-hour window, is a portal cancellation refused or flagged as the setting says?"""
    org = Organization.get()
    org.portal.late_cancellation = policy
    org.save()
    appt = _book(practice["guardian"], practice["minor"].id, _slots()[0])
    two_hours_before = datetime.fromisoformat(appt["start"]) - timedelta(hours=2)
    if policy == "refuse":
        with pytest.raises(Conflict) as err:
            scheduling.cancel(practice["guardian"], appt["id"], now=two_hours_before)
        assert err.value.code == "late_cancellation_refused"
        assert appt["start"] not in [s["start"] for s in _slots()]
    else:
        done = scheduling.cancel(practice["guardian"], appt["id"], now=two_hours_before)
        assert (done["status"], done["late_cancellation"]) == ("cancelled", True)


def test_cancelling_outside_the_window_cancels_and_opens_the_slot(practice):
    """Outside the window, is the appointment cancelled, not flagged, and its slot open again?"""
    appt = _book(practice["client"], practice["minor"].id, _slots()[0])
    assert appt["start"] not in [s["start"] for s in _slots()]
    done = scheduling.cancel(practice["client"], appt["id"], reason="travel")
    assert (done["status"], done["late_cancellation"]) == ("cancelled", False)
    assert appt["start"] in [s["start"] for s in _slots()]
    with pytest.raises(Conflict):
        scheduling.cancel(practice["client"], appt["id"])


def test_reschedule_moves_the_claims(practice):
    """Does rescheduling free the old slot and hold the new one, even when the two overlap?"""
    first, _, third = _slots()[:3]
    appt = _book(practice["guardian"], practice["minor"].id, first)
    moved = scheduling.reschedule(
        practice["staff"],
        appt["id"],
        start=(datetime.fromisoformat(first["start"]) + timedelta(minutes=10)).isoformat(),
    )
    assert moved["reschedule_count"] == 1 and SlotClaim.objects.count() == 10
    moved = scheduling.reschedule(practice["guardian"], appt["id"], start=third["start"])
    starts = [s["start"] for s in _slots()]
    assert first["start"] in starts and third["start"] not in starts


def test_upcoming_appointments_for_portal_and_staff(practice):
    """Do the guardian and the therapist both see the upcoming appointment, and the aunt nothing?"""
    appt = _book(practice["guardian"], practice["minor"].id, _slots()[0], request=True)
    assert [a["id"] for a in scheduling.list_appointments(practice["guardian"])] == [appt["id"]]
    assert [a["id"] for a in scheduling.list_appointments(practice["staff"])] == [appt["id"]]
    assert scheduling.list_appointments(practice["aunt"]) == []
    confirmed = scheduling.update(
        practice["staff"], appt["id"], status="booked", telehealth_url="https://meet.example.org/abc"
    )
    assert confirmed["status"] == "booked"


def test_reminders_go_out_once(practice):
    """Does the reminder sweep mail each due appointment once, however often it runs?"""
    from engine.models.mail import MailMessage

    appt = _book(practice["staff"], practice["minor"].id, _slots()[0])
    day_before = datetime.fromisoformat(appt["start"]) - timedelta(hours=23)
    assert scheduling.send_due_reminders(now=day_before) == 1
    assert scheduling.send_due_reminders(now=day_before) == 0
    reminders = MailMessage.objects(direction="out", subject__startswith="Reminder")
    assert sorted(m.to[0] for m in reminders) == sorted(
        [practice["client"].account.email, "gail@example.org"]
    )


def test_ics_is_rfc5545_shaped():
    """Does the .ics use CRLF, fold long lines at 75 octets and escape commas?"""
    appt = {
        "id": "abc",
        "start": datetime(2027, 1, 5, 14, tzinfo=UTC).isoformat(),
        "end": datetime(2027, 1, 5, 14, 50, tzinfo=UTC).isoformat(),
        "status": "booked",
        "location": "Main office, 2nd floor " + "x" * 80,
        "telehealth_url": "",
    }
    text = ical.calendar([appt], practice="Calm Minds, LLC")
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert "DTSTART:20270105T140000Z\r\n" in text and "Calm Minds\\, LLC" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


def test_staff_change_only_their_own_calendar_without_calendar_manage(practice):
    """May a colleague who sees the client cancel another therapist's appointment only with calendar.manage?"""
    from engine.authz import staff_actor
    from engine.errors import Forbidden
    from tests.helpers import make_staff

    colleague = make_staff(roles=("therapist",))
    minor = practice["minor"]
    minor.assigned_staff.append(colleague.id)
    minor.save()
    appt = _book(practice["guardian"], minor.id, _slots()[0])
    with pytest.raises(Forbidden):
        scheduling.cancel(staff_actor(colleague), appt["id"])
    desk = staff_actor(make_staff(roles=("front_desk",)))
    assert scheduling.cancel(desk, appt["id"])["status"] == "cancelled"


def test_two_processes_booking_the_same_slot_one_wins(practice, settings):
    """Two clients in two processes (as two web workers would be) book one slot: does exactly one win?"""
    import multiprocessing

    from tests.engine.services.appointments.booking_child import book_in_child

    other = make_client(first_name="Otto")
    accounts = [
        (practice["client"].account.id, practice["minor"].id),
        (make_portal_account(client=other).id, other.id),
    ]
    slot = _slots()[0]
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    env = {
        "PORTICO_SECRET_KEY": settings.secret_key,
        "PORTICO_MONGODB_URI": settings.mongodb_uri,
        "PORTICO_DATA_DIR": str(settings.data_dir),
    }
    procs = [
        ctx.Process(target=book_in_child, args=(env, str(a), str(c), slot, barrier, results))
        for a, c in accounts
    ]
    for p in procs:
        p.start()
    outcomes = sorted(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(30)
    assert outcomes[0] == "booked" and outcomes[1] in ("slot_taken", "slot_not_open")
    assert SlotClaim.objects.count() == 10
