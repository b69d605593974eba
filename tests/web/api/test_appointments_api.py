"""The appointments API: open slots, racing bookings, the cancellation window, iCalendar."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

from engine.models.organization import Organization
from tests.helpers import api_login, make_client, make_portal_account


def _slots(client, headers, days=3):
    on = (date.today() + timedelta(days=days)).isoformat()
    resp = client.get(
        f"/api/v1/availability?location=main&service_type=individual&from={on}&to={on}", headers=headers
    )
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"]


def _booking(client_id, slot):
    return {
        "client_id": str(client_id),
        "staff_id": slot["staff_id"],
        "location": "main",
        "service_type": "individual",
        "start": slot["start"],
    }


def test_two_clients_booking_the_same_slot_at_once_one_201_one_409(app, practice):
    """Two clients POST the same slot at the same moment: does one get 201 and the other 409?"""
    other = make_client(first_name="Otto")
    other_account = make_portal_account(client=other)
    c1, c2 = app.test_client(), app.test_client()
    h1, h2 = api_login(c1, practice["emails"]["guardian"]), api_login(c2, other_account.email)
    slot = _slots(c1, h1)[0]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def attempt(http, headers, client_id):
        barrier.wait()
        statuses.append(
            http.post("/api/v1/appointments", json=_booking(client_id, slot), headers=headers).status_code
        )

    threads = [
        threading.Thread(target=attempt, args=(c1, h1, practice["minor"].id)),
        threading.Thread(target=attempt, args=(c2, h2, other.id)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [201, 409]
    assert slot["start"] not in [s["start"] for s in _slots(c1, h1)]


def test_contact_without_appointments_permission_gets_404(client, practice):
    """Does the aunt (no appointments permission) get 404 when booking for the minor?"""
    aunt = api_login(client, practice["emails"]["aunt"])
    slot = _slots(client, aunt)[0]
    assert (
        client.post(
            "/api/v1/appointments", json=_booking(practice["minor"].id, slot), headers=aunt
        ).status_code
        == 404
    )


def test_late_cancellation_refused_then_cancel_outside_window_opens_slot(client, practice):
    """Inside the window (refuse) is cancelling 409; outside it, is the slot open again?"""
    org = Organization.get()
    org.portal.late_cancellation = "refuse"
    org.portal.cancellation_window_hours = 168  # a week: the slot three days out is inside it
    org.save()
    guardian = api_login(client, practice["emails"]["guardian"])
    slot = _slots(client, guardian)[0]
    appt = client.post(
        "/api/v1/appointments", json=_booking(practice["minor"].id, slot), headers=guardian
    ).get_json()
    resp = client.post(f"/api/v1/appointments/{appt['id']}/cancel", json={}, headers=guardian)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "late_cancellation_refused"
    org.portal.cancellation_window_hours = 24
    org.save()
    resp = client.post(f"/api/v1/appointments/{appt['id']}/cancel", json={"reason": "sick"}, headers=guardian)
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    assert resp.get_json()["late_cancellation"] is False
    assert slot["start"] in [s["start"] for s in _slots(client, guardian)]


def test_flagged_late_cancellation(client, practice):
    """With the `flag` policy, is a cancellation inside the window accepted and flagged?"""
    org = Organization.get()
    org.portal.cancellation_window_hours = 168
    org.save()
    guardian = api_login(client, practice["emails"]["guardian"])
    appt = client.post(
        "/api/v1/appointments",
        json=_booking(practice["minor"].id, _slots(client, guardian)[0]),
        headers=guardian,
    ).get_json()
    resp = client.post(f"/api/v1/appointments/{appt['id']}/cancel", json={}, headers=guardian)
    assert resp.status_code == 200 and resp.get_json()["late_cancellation"] is True


def test_upcoming_list_reschedule_and_ics(client, practice):
    """Does the guardian see the booking, move it, and download it as iCalendar?"""
    guardian = api_login(client, practice["emails"]["guardian"])
    first, _, third = _slots(client, guardian)[:3]
    appt = client.post(
        "/api/v1/appointments", json=_booking(practice["minor"].id, first), headers=guardian
    ).get_json()
    assert [a["id"] for a in client.get("/api/v1/appointments", headers=guardian).get_json()["items"]] == [
        appt["id"]
    ]
    moved = client.post(
        f"/api/v1/appointments/{appt['id']}/reschedule", json={"start": third["start"]}, headers=guardian
    )
    assert moved.status_code == 200 and moved.get_json()["start"] == third["start"]
    ics = client.get(f"/api/v1/appointments/{appt['id']}/ics", headers=guardian)
    assert ics.status_code == 200 and ics.mimetype == "text/calendar"
    text = ics.get_data(as_text=True)
    start = datetime.fromisoformat(third["start"]).strftime("%Y%m%dT%H%M%SZ")
    assert f"DTSTART:{start}\r\n" in text and "SEQUENCE:1" in text and "Calm Minds" in text
    feed = client.get("/api/v1/appointments.ics", headers=api_login(client, practice["emails"]["staff"]))
    assert feed.get_data(as_text=True).count("BEGIN:VEVENT") == 1


def test_bad_booking_input_is_422_with_field(client, practice):
    """Is a start without a UTC offset refused with 422 naming `start`?"""
    staff = api_login(client, practice["emails"]["staff"])
    slot = _slots(client, staff)[0]
    body = dict(_booking(practice["minor"].id, slot), start="2030-01-01T10:00:00")
    resp = client.post("/api/v1/appointments", json=body, headers=staff)
    assert resp.status_code == 422 and "start" in resp.get_json()["error"]["details"]


def test_calendar_range_query_for_staff(client, practice):
    """Does ?from&to (a calendar's visible range) return only appointments starting inside it?"""
    staff = api_login(client, practice["emails"]["staff"])
    slot = _slots(client, staff)[0]
    client.post("/api/v1/appointments", json=_booking(practice["minor"].id, slot), headers=staff)
    start = datetime.fromisoformat(slot["start"])
    inside = {
        "from": (start - timedelta(hours=1)).isoformat(),
        "to": (start + timedelta(hours=1)).isoformat(),
    }
    after = {"from": (start + timedelta(hours=1)).isoformat(), "to": (start + timedelta(days=1)).isoformat()}
    for rng, expected in ((inside, 1), (after, 0)):
        resp = client.get("/api/v1/appointments", query_string={"upcoming": "false", **rng}, headers=staff)
        assert resp.status_code == 200 and len(resp.get_json()["items"]) == expected
    page = client.get("/staff/calendar", headers=staff)
    assert page.status_code == 200 and "appointments/staff_calendar.js" in page.get_data(as_text=True)
